import { ConfigError, loadConfig, loadDotEnv } from "@llmgw/config";
import { createLogger } from "@llmgw/logger";
import { buildApp } from "./app.js";
import { createApiContext } from "./context.js";

const SHUTDOWN_GRACE_MS = 10_000;

/** API process: load config, build context and app, listen, close on SIGTERM. */
async function main() {
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger({
    level: config.logLevel,
    name: "api",
    secrets: [config.deepseekApiKey, config.openaiApiKey, config.adminToken, ...(config.apiKeys ?? [])],
  });
  const context = await createApiContext(config, logger);
  const app = await buildApp(context);
  await app.listen({ host: config.host, port: config.port });
  void context.checkRedisPolicy();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "api stopping: no new connections, finishing in-flight requests");
    const force = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    await app.close();
    await context.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `api failed to start: ${(error as Error).message}`);
  process.exit(1);
});
