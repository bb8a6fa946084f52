// What idle workers cost Redis: commands per second, from INFO commandstats.
//
// Starts a private redis-server and BENCH_IDLE_WORKERS worker processes (default 1; no API, no
// jobs), waits BENCH_IDLE_WARMUP seconds (default 5) for their start-up to pass, resets the
// statistics, lets them idle for BENCH_IDLE_SECONDS (default 60), then prints commands per second
// (in all, and per worker) by command. Commands run inside Lua scripts count under their own
// names as well as under `evalsha`, as Redis counts them. Settings such as WORKER_LOCK_MS pass
// through from the environment. Writes bench/results/idle-redis-cost-<workers>.json.
//
//   node bench/idle-redis-cost.mjs            (after `npx tsc -b`)
//   BENCH_IDLE_WORKERS=4 WORKER_LOCK_MS=30000 node bench/idle-redis-cost.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { startRedisServer } from "@llmgw/testing";
import { repoRoot, spawnNode } from "./lib/processes.mjs";
import { readCommandStats } from "./lib/redis-commands.mjs";

const workerCount = Number(process.env.BENCH_IDLE_WORKERS ?? 1);
const warmupSeconds = Number(process.env.BENCH_IDLE_WARMUP ?? 5);
const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? 60);

const redis = await startRedisServer();
const admin = new Redis(redis.url, { connectionName: "bench:idle-admin" });
const env = {
  REDIS_URL: redis.url,
  QUEUE_PREFIX: "bench-idle",
  DEEPSEEK_API_KEY: "sk-bench-never-called",
  DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1",
  LOG_LEVEL: "info",
  HOST: "127.0.0.1",
  WORKER_METRICS_PORT: "0",
  ...(process.env.WORKER_LOCK_MS ? { WORKER_LOCK_MS: process.env.WORKER_LOCK_MS } : {}),
};
const workers = Array.from({ length: workerCount }, (_, index) => spawnNode(`worker-${index + 1}`, `${repoRoot}apps/worker/dist/main.js`, env));
let stats;
try {
  await Promise.all(workers.map((worker) => worker.waitForLine(/worker ready/)));
  // Measuring, not synchronising: idle means letting time pass.
  await sleep(warmupSeconds * 1000);
  await admin.config("RESETSTAT");
  const started = performance.now();
  await sleep(seconds * 1000);
  stats = await readCommandStats(admin);
  const elapsed = (performance.now() - started) / 1000;
  // This script's own calls are not the workers'.
  for (const own of ["info", "config|resetstat", "config"]) delete stats[own];
  const total = Object.values(stats).reduce((sum, calls) => sum + calls, 0);
  const byCommand = Object.entries(stats)
    .sort((a, b) => b[1] - a[1])
    .map(([command, calls]) => ({ command, perSecond: round(calls / elapsed), perSecondPerWorker: round(calls / elapsed / workerCount) }));
  const summary = {
    workers: workerCount,
    lockMs: env.WORKER_LOCK_MS ?? "default",
    seconds: round(elapsed),
    commandsPerSecond: round(total / elapsed),
    commandsPerSecondPerWorker: round(total / elapsed / workerCount),
    byCommand,
  };
  console.log(
    `${workerCount} idle worker(s), WORKER_LOCK_MS=${summary.lockMs}, ${summary.seconds} s: ${summary.commandsPerSecond} commands/s in all, ${summary.commandsPerSecondPerWorker} per worker`,
  );
  for (const entry of byCommand) console.log(`  ${entry.command.padEnd(12)} ${String(entry.perSecond).padStart(8)} /s   ${entry.perSecondPerWorker} /s per worker`);
  mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
  writeFileSync(join(repoRoot, `bench/results/idle-redis-cost-${workerCount}.json`), `${JSON.stringify(summary, null, 2)}\n`);
} finally {
  await Promise.all(workers.map((worker) => worker.stop()));
  admin.disconnect();
  await redis.destroy();
}

function round(value) {
  return Math.round(value * 100) / 100;
}
