// node bench/cpu-per-request.mjs: what one request costs each process, steadier than rps on a
// shared machine. Starts the stack as `npm run bench` does (build first), loads it closed-loop
// and prints, per run, CPU milliseconds per request of every process (from /proc/<pid>/stat)
// and the API's, the worker's and Redis's read/write system calls per request (/proc/<pid>/io).
// Env: SCENARIO=sync|hit|ref (sync: a unique body per request, a cache miss; hit: one cached body;
// ref: the bare BullMQ round trip of references/, its API and worker in the gateway's columns),
// CONCURRENCY (16), RUNS (3), SECONDS per run (5), CPU_PROF_DIR (write a V8 CPU profile of the API and
// the worker there; read with bench/lib/profile-summary.mjs), GATEWAY_ENV (JSON of variables for the
// gateway, e.g. '{"RATE_LIMIT_ENABLED":"false"}', to measure what a feature costs). The first run also warms the JIT: read the last ones.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "undici";
import { freePort, startRedisServer } from "@llmgw/testing";
import { childPids, measureProcessCpu } from "./lib/cpu-meter.mjs";
import { startBenchGateway } from "./lib/gateway.mjs";
import { measureHttp } from "./lib/load.mjs";
import { startMockProcess, startReference } from "./lib/processes.mjs";

const scenario = process.env.SCENARIO ?? "sync";
const connections = Number(process.env.CONCURRENCY ?? 16);
const runs = Number(process.env.RUNS ?? 3);
const seconds = Number(process.env.SECONDS ?? 5);
const clientKey = `gw-bench-${randomUUID().replace(/-/g, "")}`;
const headers = { authorization: `Bearer ${clientKey}` };
const chat = (content) => JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content }] });
const body = scenario === "hit" ? chat(`cached ${randomUUID()} [[mock:words=5]]`) : chat("bench [<id>] [[mock:words=5]]");

const profileDir = process.env.CPU_PROF_DIR;
const profileArgs = (name) => (profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);

const redis = await startRedisServer();
const mock = await startMockProcess();
const stack = scenario === "ref" ? await startBullMqReference() : await startBenchGateway({ redisUrl: redis.url, upstreamUrl: mock.url, prefix: `cpu-${randomUUID()}`, clientKey, workers: 1, freePort, nodeArgs: profileArgs, extraEnv: JSON.parse(process.env.GATEWAY_ENV ?? "{}") });
try {
  const url = `${stack.url}/v1/chat/completions`;
  if (scenario === "hit") {
    // The worker stores the answer just after the caller has it: ask until the cache answers.
    for (let hit = false; !hit; ) {
      const response = await request(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
      await response.body.dump();
      hit = response.headers["x-cache"] === "HIT";
    }
  }
  const pids = { api: stack.api.pid, worker: stack.workers[0].pid, redis: childPids("redis-server")[0], mock: mock.process.pid, bench: process.pid };
  const counted = ["api", "worker", "redis"];
  const syscalls = () =>
    Object.fromEntries(
      counted.map((name) => {
        const io = readFileSync(`/proc/${pids[name]}/io`, "utf8");
        return [name, { reads: Number(/syscr: (\d+)/.exec(io)[1]), writes: Number(/syscw: (\d+)/.exec(io)[1]) }];
      }),
    );
  console.log(`${scenario} at c=${connections}, ${runs} runs of ${seconds} s`);
  for (let run = 1; run <= runs; run++) {
    const before = syscalls();
    const { value: load, usage } = await measureProcessCpu(pids, () =>
      measureHttp({ url, headers, body, connections, seconds, warmupSeconds: run === 1 ? 1 : 0 }),
    );
    const after = syscalls();
    const elapsedMs = (load.requests / load.rps) * 1000;
    const cpu = Object.entries(usage).map(([name, cpus]) => `${name} ${((cpus * elapsedMs) / load.requests).toFixed(3)}`);
    const calls = counted.map((name) => {
      const per = (field) => ((after[name][field] - before[name][field]) / load.requests).toFixed(1);
      return `${name} ${per("reads")}r/${per("writes")}w`;
    });
    console.log(`run ${run}: ${Math.round(load.rps)} rps, p50 ${load.p50.toFixed(2)} ms`);
    console.log(`  CPU ms per request: ${cpu.join(", ")}`);
    console.log(`  system calls per request: ${calls.join(", ")}`);
  }
} finally {
  await stack.stop();
  await mock.stop();
  await redis.destroy();
}

/** The bare BullMQ round trip, shaped like a gateway stack for the measurement above. */
async function startBullMqReference() {
  const env = { UPSTREAM_URL: mock.url, REDIS_URL: redis.url, PREFIX: `ref-${randomUUID()}` };
  const worker = await startReference("ref-bullmq-worker", "bullmq-round-trip.mjs", env, "worker");
  const api = await startReference("ref-bullmq-api", "bullmq-round-trip.mjs", env, "api");
  return {
    url: api.url,
    api: api.process,
    workers: [worker.process],
    stop: async () => {
      await api.stop();
      await worker.stop();
    },
  };
}
