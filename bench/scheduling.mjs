// Who goes first with a backlog: JOB_SCHEDULING=fifo (every job in order of arrival) against
// JOB_SCHEDULING=fair (synchronous calls first, keys with jobs waiting take turns), same run.
//
// For each mode: a private redis-server, the mock upstream answering after LATENCY_MS (default
// 100), one API and one worker with WORKER_CONCURRENCY slots (default 16), then
//   1. backlog: key A submits BACKLOG asynchronous jobs (default 3000); with the backlog queued,
//      SYNC_CALLS synchronous calls (default 5), 200 ms apart: each one's start delay is its
//      latency less the upstream's (the time it waited for a slot);
//   2. a small key behind a big one: once the backlog has drained, key A submits BIG jobs
//      (default 2000), then key B submits SMALL (default 20): each key's completion times, from
//      the moment B submitted, polled every 25 ms.
// Prints a table and writes bench/results/scheduling.json.
//
//   node bench/scheduling.mjs            (after `npx tsc -b`)
//   BACKLOG=1000 BIG=500 node bench/scheduling.mjs
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startMockUpstream, startRedisServer } from "@llmgw/testing";
import { repoRoot, spawnNode } from "./lib/processes.mjs";
import { quantile } from "./lib/stats.mjs";

const settings = {
  latencyMs: Number(process.env.LATENCY_MS ?? 100),
  concurrency: Number(process.env.WORKER_CONCURRENCY ?? 16),
  backlog: Number(process.env.BACKLOG ?? 3000),
  syncCalls: Number(process.env.SYNC_CALLS ?? 5),
  big: Number(process.env.BIG ?? 2000),
  small: Number(process.env.SMALL ?? 20),
};
const keyA = `gw-bench-a-${randomUUID().replace(/-/g, "")}`;
const keyB = `gw-bench-b-${randomUUID().replace(/-/g, "")}`;

async function startStack(mode, redis, mock) {
  const port = await freePort();
  const env = {
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `bench-sched-${mode}`,
    JOB_SCHEDULING: mode,
    USE_DATABASE_AUTH: "false",
    API_KEYS: `${keyA},${keyB}`,
    DEEPSEEK_API_KEY: "sk-bench-provider",
    DEEPSEEK_BASE_URL: mock.url,
    RATE_LIMIT_ENABLED: "false",
    CACHE_ENABLED: "false",
    LOG_LEVEL: "warn",
    WORKER_CONCURRENCY: String(settings.concurrency),
    WORKER_METRICS_PORT: "0",
    DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-bench-sched-")), "gateway.db"),
  };
  const api = spawnNode("api", `${repoRoot}apps/api/dist/main.js`, { ...env, LOG_LEVEL: "info" });
  const worker = spawnNode("worker", `${repoRoot}apps/worker/dist/main.js`, { ...env, LOG_LEVEL: "info" });
  await Promise.all([api.waitForLine(/Server listening/), worker.waitForLine(/worker ready/)]);
  return { url: `http://127.0.0.1:${port}`, stop: () => Promise.all([api.stop(), worker.stop()]) };
}

const ask = (text) => ({ model: "deepseek-chat", messages: [{ role: "user", content: `${text} ${randomUUID()} [[mock:words=5]]` }] });
const headersOf = (key) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

/** Submits `count` asynchronous jobs of `key`, 32 requests at a time; resolves to their ids in order. */
async function submitJobs(url, key, count, label) {
  const ids = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        const index = next++;
        const response = await fetch(`${url}/v1/jobs`, { method: "POST", headers: headersOf(key), body: JSON.stringify({ request: ask(`${label} ${index}`) }) });
        if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
        ids[index] = (await response.json()).id;
      }
    }),
  );
  return ids;
}

/** Resolves to the ms (since `since`) at which each job succeeded, polling every 25 ms. */
async function completionTimes(url, key, ids, since) {
  const done = new Map();
  while (done.size < ids.length) {
    const pending = ids.filter((id) => !done.has(id));
    // The oldest few pending jobs are enough to poll: the rest finish after them.
    for (const id of pending.slice(0, 40)) {
      const job = await (await fetch(`${url}/v1/jobs/${id}`, { headers: headersOf(key) })).json();
      if (job.status === "succeeded") done.set(id, performance.now() - since);
      else if (job.status === "failed" || job.status === "cancelled") throw new Error(`job ${id} ${job.status}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return ids.map((id) => done.get(id));
}

async function runMode(mode) {
  const redis = await startRedisServer();
  const mock = await startMockUpstream({ recordCalls: false, latencyMs: settings.latencyMs });
  const stack = await startStack(mode, redis, mock);
  try {
    const backlogIds = await submitJobs(stack.url, keyA, settings.backlog, "backlog");
    // The calls go 200 ms apart, each on its own: every one of them finds the backlog queued.
    const delays = await Promise.all(
      Array.from({ length: settings.syncCalls }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 200));
        const started = performance.now();
        const response = await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: headersOf(keyA), body: JSON.stringify(ask(`sync ${i}`)) });
        if (response.status !== 200) throw new Error(`sync call answered ${response.status}`);
        await response.json();
        return performance.now() - started - settings.latencyMs;
      }),
    );
    await completionTimes(stack.url, keyA, backlogIds.slice(-1), performance.now());

    const bigIds = await submitJobs(stack.url, keyA, settings.big, "big");
    const since = performance.now();
    const smallIds = await submitJobs(stack.url, keyB, settings.small, "small");
    const [small, big] = await Promise.all([completionTimes(stack.url, keyB, smallIds, since), completionTimes(stack.url, keyA, bigIds.slice(-1), since)]);
    const sorted = Float64Array.from(small).sort();
    return {
      mode,
      syncStartDelayMs: { median: Math.round(quantile(Float64Array.from(delays).sort(), 0.5)), max: Math.round(Math.max(...delays)) },
      smallKeyDoneMs: { p50: Math.round(quantile(sorted, 0.5)), last: Math.round(sorted[sorted.length - 1]) },
      bigKeyDoneMs: Math.round(big[0]),
    };
  } finally {
    await stack.stop();
    await mock.close();
    await redis.destroy();
  }
}

console.log(
  `scheduling: upstream ${settings.latencyMs} ms, 1 worker x ${settings.concurrency} slots; ${settings.backlog}-job backlog + ${settings.syncCalls} sync calls; ` +
    `key B's ${settings.small} jobs after key A's ${settings.big}`,
);
const results = [];
for (const mode of ["fifo", "fair"]) {
  const result = await runMode(mode);
  results.push(result);
  console.log(JSON.stringify(result));
}
console.log("\n| JOB_SCHEDULING | sync call start delay, median (max) | key B's 20 jobs done, p50 / last | key A's 2,000 done |");
console.log("| --- | --- | --- | --- |");
for (const r of results) {
  console.log(`| ${r.mode} | ${r.syncStartDelayMs.median} ms (${r.syncStartDelayMs.max} ms) | ${r.smallKeyDoneMs.p50} / ${r.smallKeyDoneMs.last} ms | ${r.bigKeyDoneMs} ms |`);
}
const folder = join(repoRoot, "bench", "results");
mkdirSync(folder, { recursive: true });
writeFileSync(join(folder, "scheduling.json"), `${JSON.stringify({ settings, results }, null, 2)}\n`);
