import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface MetricsServer {
  /** The bound port (the one chosen by the OS when asked for 0). */
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` for Prometheus on its own small HTTP server; anything else is 404. */
export async function startMetricsServer(
  metrics: { scrape(): Promise<string>; contentType: string },
  options: { host: string; port: number },
): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if ((request.method !== "GET" && request.method !== "HEAD") || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: try GET /metrics\n");
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { "content-type": metrics.contentType }).end(request.method === "HEAD" ? undefined : text),
      () => response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("could not collect metrics\n"),
    );
  });
  // A scraper's idle keep-alive connection must not hold the worker's shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
