// The API exactly as apps/api/dist/main.js builds it, in a child the benchmark can ask, over IPC,
// for its own memory after a full GC (run with --expose-gc) and for the WebSocket hub's counts.
import { loadConfig } from "@llmgw/config";
import { createLogger } from "@llmgw/logger";
import { buildApp } from "../../apps/api/dist/app.js";
import { createApiContext } from "../../apps/api/dist/context.js";

const config = loadConfig();
const context = await createApiContext(config, createLogger({ level: config.logLevel, name: "api" }));
const app = await buildApp(context);
await app.listen({ host: config.host, port: config.port });

process.on("message", (message) => {
  if (message?.type === "close") {
    void app.close().then(() => context.close()).then(() => process.exit(0));
    return;
  }
  if (message?.type !== "measure") return;
  // Twice: the first pass may only queue finalizers.
  globalThis.gc?.();
  globalThis.gc?.();
  const memory = process.memoryUsage();
  process.send({ type: "memory", memory, ws: context.wsHub.stats(), watchedJobs: context.hub.watchedJobs });
});
process.send({ type: "ready" });
