// node bench/latency-anatomy.mjs: where a synchronous JSON call's latency goes at c=1, from the job
// log's own clock. Sends REQUESTS (300) sequential cache misses after 100 for warm-up through a
// gateway (1 API, 1 worker; build first) and the same number straight to the mock upstream, then
// splits each gateway call by the Redis stream ids (milliseconds of Redis's clock) of its job's
// events: `job.queued` is written when the API creates the job, `job.started` when the worker
// begins the try (alongside the upstream call), `job.completed` when it ends it.
//   client -> queued        the API: key, limits, cache lookup, job record
//   queued -> started       BullMQ add, the worker's wake-up and claim, the try's first write
//   started -> completed    the upstream call, the cache write, the end
//   completed -> client     the end's notification, the API's answer
// Averages of each part (a clock's milliseconds are whole: single calls are coarse, averages are not).
// Env: REQUESTS, WORKER_CONCURRENCY (the worker's default 32; 1 shows what BullMQ's refill of its free
// slots costs the job that runs).
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { request } from "undici";
import { jobKeys } from "@llmgw/jobs";
import { freePort, startRedisServer } from "@llmgw/testing";
import { startBenchGateway } from "./lib/gateway.mjs";
import { startMockProcess } from "./lib/processes.mjs";
import { percentiles } from "./lib/stats.mjs";

const requests = Number(process.env.REQUESTS ?? 300);
const warmup = 100;
const clientKey = `gw-bench-${randomUUID().replace(/-/g, "")}`;
const prefix = `anatomy-${randomUUID()}`;
const body = () => JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `anatomy ${randomUUID()} [[mock:words=5]]` }] });

const redis = await startRedisServer();
const mock = await startMockProcess();
const extraEnv = process.env.WORKER_CONCURRENCY ? { WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY } : {};
const gateway = await startBenchGateway({ redisUrl: redis.url, upstreamUrl: mock.url, prefix, clientKey, workers: 1, freePort, extraEnv });
const reader = new Redis(redis.url);
const keys = jobKeys(prefix);
try {
  const headers = { authorization: `Bearer ${clientKey}`, "content-type": "application/json" };
  const calls = [];
  for (let index = 0; index < warmup + requests; index++) {
    const sentAt = Date.now();
    const began = performance.now();
    const response = await request(`${gateway.url}/v1/chat/completions`, { method: "POST", headers, body: body() });
    await response.body.text();
    const tookMs = performance.now() - began;
    if (response.statusCode !== 200) throw new Error(`the gateway answered ${response.statusCode}`);
    if (index >= warmup) calls.push({ jobId: String(response.headers["x-job-id"]), sentAt, doneAt: sentAt + tookMs, tookMs });
  }
  const parts = { "client -> queued": [], "queued -> started": [], "started -> completed": [], "completed -> client": [] };
  for (const call of calls) {
    const at = Object.fromEntries((await reader.xrange(keys.events(call.jobId), "-", "+")).map(([id, fields]) => [fields[fields.indexOf("type") + 1], Number(id.split("-")[0])]));
    parts["client -> queued"].push(at["job.queued"] - call.sentAt);
    parts["queued -> started"].push(at["job.started"] - at["job.queued"]);
    parts["started -> completed"].push(at["job.completed"] - at["job.started"]);
    parts["completed -> client"].push(call.doneAt - at["job.completed"]);
  }
  const direct = [];
  for (let index = 0; index < warmup + requests; index++) {
    const began = performance.now();
    const response = await request(`${mock.url}/chat/completions`, { method: "POST", headers: { ...headers, authorization: "Bearer sk-bench" }, body: body() });
    await response.body.text();
    if (index >= warmup) direct.push(performance.now() - began);
  }
  const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const total = percentiles(calls.map((call) => call.tookMs));
  console.log(`sync JSON at c=1, ${requests} calls, worker concurrency ${process.env.WORKER_CONCURRENCY ?? "32 (default)"}`);
  console.log(`  gateway p50 ${total.p50.toFixed(2)} ms (mean ${mean(calls.map((call) => call.tookMs)).toFixed(2)}); upstream direct p50 ${percentiles(direct).p50.toFixed(2)} ms`);
  for (const [name, values] of Object.entries(parts)) console.log(`  ${name.padEnd(22)} mean ${mean(values).toFixed(2)} ms`);
} finally {
  reader.disconnect();
  await gateway.stop();
  await mock.stop();
  await redis.destroy();
}
