// How long a job whose worker is SIGKILLed in the middle of it takes to complete on another worker.
//
// Starts a private redis-server, the mock upstream, one API and two workers with the default lock
// settings (or WORKER_LOCK_MS from the environment), then BENCH_TRIALS times (default 5): submits a
// job that streams for about 2 s, SIGKILLs the worker running it (found by its llmgw_worker_jobs_in_flight)
// as soon as the first try has started, and times from the kill, through the job's own event
// stream, the second try's start and the job's completion. A fresh worker replaces the dead one
// before the next trial. Prints one line per trial and a summary; writes bench/results/crash-recovery.json.
//
//   node bench/crash-recovery.mjs            (after `npx tsc -b`)
//   BENCH_TRIALS=10 WORKER_LOCK_MS=30000 node bench/crash-recovery.mjs
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startMockUpstream, startRedisServer } from "@llmgw/testing";
import { repoRoot, spawnNode } from "./lib/processes.mjs";

const trials = Number(process.env.BENCH_TRIALS ?? 5);
const limitMs = 20_000;
const clientKey = `gw-bench-crash-${randomUUID().replace(/-/g, "")}`;
const headers = { authorization: `Bearer ${clientKey}`, "content-type": "application/json" };

const redis = await startRedisServer();
const mock = await startMockUpstream({ recordCalls: false });
const port = await freePort();
const env = {
  HOST: "127.0.0.1",
  PORT: String(port),
  REDIS_URL: redis.url,
  QUEUE_PREFIX: "bench-crash",
  USE_DATABASE_AUTH: "false",
  API_KEYS: clientKey,
  DEEPSEEK_API_KEY: "sk-bench-provider",
  DEEPSEEK_BASE_URL: mock.url,
  RATE_LIMIT_ENABLED: "false",
  CACHE_ENABLED: "false",
  LOG_LEVEL: "info",
  WORKER_METRICS_PORT: "0",
  DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-bench-crash-")), "gateway.db"),
  ...(process.env.WORKER_LOCK_MS ? { WORKER_LOCK_MS: process.env.WORKER_LOCK_MS } : {}),
};
const url = `http://127.0.0.1:${port}`;
const api = spawnNode("api", `${repoRoot}apps/api/dist/main.js`, env);
let workerCount = 0;
/** Live workers and their metrics ports. */
const workers = new Map();

async function addWorker() {
  const worker = spawnNode(`worker-${++workerCount}`, `${repoRoot}apps/worker/dist/main.js`, env);
  const ready = JSON.parse(await worker.waitForLine(/worker ready/));
  workers.set(worker, ready.metricsPort);
  return worker;
}

/** The live worker running a try now. */
async function busyWorker() {
  for (const [worker, metricsPort] of workers) {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    if (/^llmgw_worker_jobs_in_flight 1$/m.test(text)) return worker;
  }
  throw new Error("no worker runs the job");
}

/** Calls `onEvent(type, data)` for each event of the job's SSE stream, until it ends. */
async function followEvents(jobId, onEvent) {
  const response = await fetch(`${url}/v1/jobs/${jobId}/events`, { headers });
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const bytes of response.body) {
    buffered += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (type && data) await onEvent(type, JSON.parse(data).data);
    }
  }
}

async function trial(index) {
  const submitted = await fetch(`${url}/v1/jobs`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      request: { model: "deepseek-chat", messages: [{ role: "user", content: `crash ${index} ${randomUUID()} [[mock:words=10,chunk_delay=100]]` }] },
    }),
  });
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}`);
  const { id } = await submitted.json();
  const times = { killedAt: 0, restartedMs: NaN, completedMs: NaN };
  await followEvents(id, async (type, data) => {
    const since = () => Math.round(performance.now() - times.killedAt);
    if (type === "job.started" && data.attempt === 1) {
      const victim = await busyWorker();
      times.killedAt = performance.now();
      process.kill(victim.pid, "SIGKILL");
      workers.delete(victim);
      await victim.exited;
    } else if (type === "job.started") {
      times.restartedMs = since();
    } else if (type === "job.completed") {
      times.completedMs = since();
    } else if (type === "job.failed" || type === "job.cancelled") {
      throw new Error(`job ${id} ended with ${type}`);
    }
  });
  await addWorker();
  return { trial: index, restartedMs: times.restartedMs, completedMs: times.completedMs };
}

const results = [];
try {
  await api.waitForLine(/Server listening/);
  await addWorker();
  await addWorker();
  console.log(`crash recovery: ${trials} trials, WORKER_LOCK_MS=${env.WORKER_LOCK_MS ?? "default"}, jobs of about 2 s (22 chunks 100 ms apart)`);
  for (let index = 1; index <= trials; index++) {
    const result = await trial(index);
    results.push(result);
    const verdict = result.completedMs < limitMs ? "ok" : "TOO SLOW";
    console.log(`  trial ${index}: second try started ${result.restartedMs} ms after the SIGKILL, job completed after ${result.completedMs} ms  ${verdict}`);
  }
} finally {
  await Promise.all([api, ...workers.keys()].map((child) => child.stop()));
  await mock.close();
  await redis.destroy();
}

const completed = results.map((result) => result.completedMs);
const summary = {
  lockMs: env.WORKER_LOCK_MS ?? "default",
  trials: results,
  maxCompletedMs: Math.max(...completed),
  meanCompletedMs: Math.round(completed.reduce((sum, ms) => sum + ms, 0) / completed.length),
  allWithin20s: completed.every((ms) => ms < limitMs),
};
console.log(`max ${summary.maxCompletedMs} ms, mean ${summary.meanCompletedMs} ms; all within 20 s: ${summary.allWithin20s}`);
mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/crash-recovery.json"), `${JSON.stringify(summary, null, 2)}\n`);
if (!summary.allWithin20s) process.exitCode = 1;
