// How many idle WebSocket subscriptions one API process holds, and at what memory.
//
// Starts a private redis-server and one API process (no worker, so every job stays queued and
// every subscription stays open and idle), then opens BENCH_WS_SOCKETS sockets (default 10000)
// in steps. Each socket authenticates by header and creates its own job, which subscribes it to
// that job's events: one subscription per socket, one Redis channel per job, all on the API's
// single subscriber connection. After each step the API reports its memory after a full GC.
//
// BENCH_WS_JOBS=shared subscribes every socket to one job instead (one Redis channel in all);
// BENCH_WS_JOBS=none only authenticates the sockets (the cost of an idle socket alone).
//
//   node bench/ws-idle.mjs            (after `npx tsc -b`)
//   BENCH_WS_SOCKETS=20000 BENCH_WS_STEP=5000 BENCH_WS_JOBS=shared node bench/ws-idle.mjs
import { fork } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { freePort, startRedisServer } from "@llmgw/testing";
import { repoRoot } from "./lib/processes.mjs";

const total = Number(process.env.BENCH_WS_SOCKETS ?? 10_000);
const step = Number(process.env.BENCH_WS_STEP ?? Math.max(1000, Math.floor(total / 5)));
const mode = process.env.BENCH_WS_JOBS ?? "own";
if (!["own", "shared", "none"].includes(mode)) throw new Error("BENCH_WS_JOBS is own, shared or none");
const batch = 200;
const clientKey = "gw-bench-ws-idle-000000000000000000";

const redis = await startRedisServer();
const port = await freePort();
const api = fork(join(repoRoot, "bench/lib/ws-idle-api.mjs"), [], {
  cwd: repoRoot,
  execArgv: ["--expose-gc"],
  stdio: ["ignore", "inherit", "inherit", "ipc"],
  env: {
    PATH: process.env.PATH ?? "",
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: "bench-ws-idle",
    USE_DATABASE_AUTH: "false",
    API_KEYS: clientKey,
    DEEPSEEK_API_KEY: "sk-never-called",
    DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1",
    RATE_LIMIT_ENABLED: "false",
    CACHE_ENABLED: "false",
    LOG_LEVEL: "warn",
    DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-bench-ws-")), "gateway.db"),
  },
});
const replies = [];
api.on("message", (message) => replies.push(message));
const nextReply = (type) =>
  new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const index = replies.findIndex((reply) => reply.type === type);
      if (index >= 0) {
        clearInterval(timer);
        resolve(replies.splice(index, 1)[0]);
      } else if (api.exitCode !== null) {
        clearInterval(timer);
        reject(new Error("the API process exited"));
      }
    }, 5);
  });
await nextReply("ready");

const measure = async () => {
  api.send({ type: "measure" });
  return nextReply("memory");
};

const request = (text) => ({ model: "deepseek-chat", messages: [{ role: "user", content: text }] });
const sharedJob =
  mode === "shared"
    ? (
        await (
          await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
            method: "POST",
            headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" },
            body: JSON.stringify({ request: request("shared") }),
          })
        ).json()
      ).id
    : null;

/** The frame that puts a socket in its idle state, and the answer that says it is there. */
const firstFrame = (index) =>
  mode === "own"
    ? { frame: { type: "create", request: request(`idle ${index}`) }, done: (frame) => frame.type === "job.queued" }
    : mode === "shared"
      ? { frame: { type: "subscribe", job_id: sharedJob }, done: (frame) => frame.type === "job.queued" }
      : { frame: { type: "unsubscribe", job_id: "job_nothingsubscribed00000" }, done: (frame) => frame.type === "ack" };

/** Opens one socket (key in the header) and resolves once it is idle in the state the mode asks for. */
function openIdle(index) {
  const { frame: first, done } = firstFrame(index);
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { headers: { authorization: `Bearer ${clientKey}` }, perMessageDeflate: false });
    socket.once("error", reject);
    socket.once("open", () => socket.send(JSON.stringify(first)));
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type === "error") reject(new Error(JSON.stringify(frame.error)));
      if (done(frame)) resolve(socket);
    });
  });
}

const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const kb = (bytes) => Math.round((bytes / 1024) * 10) / 10;
const baseline = await measure();
const rows = [{ sockets: 0, ...baseline }];
const sockets = [];
const started = performance.now();
for (let target = Math.min(step, total); ; target = Math.min(target + step, total)) {
  while (sockets.length < target) {
    const count = Math.min(batch, target - sockets.length);
    sockets.push(...(await Promise.all(Array.from({ length: count }, (_, i) => openIdle(sockets.length + i)))));
  }
  rows.push({ sockets: sockets.length, ...(await measure()) });
  if (target === total) break;
}
const openSeconds = (performance.now() - started) / 1000;

const info = await new Redis(redis.url).info("clients");
const table = rows.map((row) => ({
  sockets: row.sockets,
  subscriptions: row.ws.subscriptions,
  "redis channels (jobs watched)": row.watchedJobs,
  "rss MB": mb(row.memory.rss),
  "heap used MB": mb(row.memory.heapUsed),
  "external MB": mb(row.memory.external),
  "rss KB per socket": row.sockets ? kb((row.memory.rss - baseline.memory.rss) / row.sockets) : "",
  "heap KB per socket": row.sockets ? kb((row.memory.heapUsed - baseline.memory.heapUsed) / row.sockets) : "",
}));
console.table(table);
const last = rows.at(-1);
const perThousand = {
  rssMB: mb(((last.memory.rss - baseline.memory.rss) / last.sockets) * 1000),
  heapUsedMB: mb(((last.memory.heapUsed - baseline.memory.heapUsed) / last.sockets) * 1000),
};
console.log(
  `${last.sockets} idle sockets (BENCH_WS_JOBS=${mode}: ${{ own: "each subscribed to its own job", shared: "all subscribed to one job", none: "no subscription" }[mode]}), opened in ${openSeconds.toFixed(1)} s: ` +
    `+${perThousand.rssMB} MB RSS and +${perThousand.heapUsedMB} MB heap per 1000 sockets; ` +
    `Redis ${/connected_clients:(\d+)/.exec(info)?.[1]} client connections in all (one subscriber for the API's events).`,
);

mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(
  join(repoRoot, `bench/results/ws-idle-${mode}.json`),
  `${JSON.stringify({ at: new Date().toISOString(), mode, openSeconds, perThousand, rows: table }, null, 2)}\n`,
);

for (const socket of sockets) socket.terminate();
api.send({ type: "close" });
await new Promise((resolve) => api.once("exit", resolve));
await redis.destroy();
process.exit(0);
