import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { GatewayError } from "@llmgw/errors";

export interface MetricsServer {
  /** The bound port (the one chosen by the OS when asked for 0). */
  port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** WORKER_METRICS_HOST: loopback by default, so only this machine can scrape unless told otherwise. */
  host: string;
  port: number;
  /** METRICS_TOKEN: when set, a scrape needs `Authorization: Bearer METRICS_TOKEN` (401 otherwise). */
  token?: string;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** True when `Authorization: Bearer …` carries the token; compared as digests, in constant time. */
function bearerMatcher(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

/** Serves `GET /metrics` for Prometheus on its own small HTTP server; anything else is 404. */
export async function startMetricsServer(
  metrics: { scrape(): Promise<string>; contentType: string },
  options: MetricsServerOptions,
): Promise<MetricsServer> {
  const authorized = options.token ? bearerMatcher(options.token) : () => true;
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if ((request.method !== "GET" && request.method !== "HEAD") || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: try GET /metrics\n");
      return;
    }
    if (!authorized(request.headers.authorization)) {
      const body = JSON.stringify(new GatewayError("invalid_metrics_token").toErrorBody());
      response.writeHead(401, { "content-type": "application/json; charset=utf-8", "www-authenticate": "Bearer" }).end(body);
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
