import { ConfigError, loadConfig, loadDotEnv, secretValues } from "@llmgw/config";
import { createProviderRegistry } from "@llmgw/providers";
import { createLogger } from "@llmgw/logger";
import { buildApp } from "./app.js";
import { createApiContext } from "./context.js";

/** How long in-flight answers and SSE streams get after SIGTERM (compose gives the API 30 s before SIGKILL). */
const SHUTDOWN_GRACE_MS = 25_000;
/** How long closing Redis and the database may take after that before the process gives up. */
const CLOSE_TIMEOUT_MS = 5_000;

/** API process: load config, build context and app, listen, close on SIGTERM. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const providers = createProviderRegistry(config);
  const logger = createLogger({ level: config.logLevel, name: "api", secrets: [...secretValues(config), ...providers.secrets] });
  const context = await createApiContext(config, logger, { providers });
  const app = await buildApp(context);
  await app.listen({ host: config.host, port: config.port });
  void context.checkRedisPolicy();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, "api stopping: no new connections, finishing in-flight requests and streams");
    // app.close() stops listening, answers 503 to new requests on open connections, closes
    // WebSockets (preClose) and waits for every in-flight answer, hijacked SSE streams included.
    // A keep-alive socket whose answer ended while closing would then idle until its timeout: sweep those.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 200).unref();
    const cut = setTimeout(() => {
      logger.warn("api grace period over: closing the connections still open");
      app.server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS).unref();
    const force = setTimeout(() => {
      logger.error("api did not stop in time; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS + CLOSE_TIMEOUT_MS).unref();
    await app.close();
    clearInterval(sweep);
    clearTimeout(cut);
    await context.close();
    clearTimeout(force);
    logger.info("api stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `api failed to start: ${(error as Error).message}`);
  process.exit(1);
});
