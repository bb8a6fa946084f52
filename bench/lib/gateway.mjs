// The gateway under test: the built API and N built workers as separate processes, configured
// for measuring (limits out of the way, LOG_LEVEL=warn, a temp SQLite file, its own key prefix).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { request } from "undici";
import { withHeapBound } from "../../scripts/stack.mjs";
import { repoRoot, spawnNode } from "./processes.mjs";

/**
 * Starts one API and `workers` workers. `nodeArgs(name)` may add Node flags per process
 * (`--cpu-prof`). Readiness comes from /healthz and BullMQ's worker registry, not from log
 * lines: at LOG_LEVEL=warn the apps print none.
 */
export async function startBenchGateway({ redisUrl, upstreamUrl, prefix, clientKey, workers = 1, freePort, nodeArgs = () => [], extraEnv = {} }) {
  const port = await freePort();
  // As `npm start` and the Docker image run them: with the heap bound.
  const env = withHeapBound({
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    USE_DATABASE_AUTH: "false",
    API_KEYS: clientKey,
    DEEPSEEK_API_KEY: "sk-bench-provider",
    DEEPSEEK_BASE_URL: upstreamUrl,
    RATE_LIMIT_PER_MINUTE: "1000000000",
    RATE_LIMIT_PER_HOUR: "1000000000",
    LOG_LEVEL: "warn",
    WORKER_METRICS_PORT: "0",
    DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-bench-db-")), "gateway.db"),
    ...extraEnv,
  });
  const url = `http://127.0.0.1:${port}`;
  const queueRedis = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: "bench:queue" });
  const queue = new Queue("completions", { connection: queueRedis, prefix });
  const api = spawnNode("api", `${repoRoot}apps/api/dist/main.js`, env, nodeArgs("api"));
  const workerProcesses = [];

  async function addWorker() {
    const name = `worker-${workerProcesses.length + 1}`;
    const worker = spawnNode(name, `${repoRoot}apps/worker/dist/main.js`, env, nodeArgs(name));
    workerProcesses.push(worker);
    const wanted = workerProcesses.length;
    await until(async () => (await queue.getWorkersCount()) >= wanted, `${name} registered with BullMQ`, worker);
    return worker;
  }

  try {
    await until(async () => (await get(`${url}/healthz`)) === 200, "api /healthz", api);
    for (let index = 0; index < workers; index++) await addWorker();
  } catch (error) {
    await Promise.all([api, ...workerProcesses].map((child) => child.stop()));
    await queue.close();
    queueRedis.disconnect();
    throw error;
  }

  return {
    url,
    env,
    api,
    workers: workerProcesses,
    queue,
    addWorker,
    async stop() {
      await Promise.all([api, ...workerProcesses].map((child) => child.stop()));
      await queue.close().catch(() => {});
      queueRedis.disconnect();
    },
  };
}

async function get(url) {
  try {
    const response = await request(url);
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}

/** Polls `check` until true (20 s at most), failing early when `child` exits. */
async function until(check, what, child) {
  let exited = false;
  void child.exited.then(() => (exited = true));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${child.name} exited while waiting for ${what}:\n${child.lines.slice(-15).join("\n")}`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}:\n${child.lines.slice(-15).join("\n")}`);
}
