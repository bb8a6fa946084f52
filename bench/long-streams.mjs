// node bench/long-streams.mjs: long streams through the bare Fastify + undici pipe
// (references/fastify-stream-pipe.mjs), then through the gateway (1 API, 1 worker, cache off, rate
// limits off), on loopback against the mock upstream in its own process (build first:
// `npm run build`). CLIENTS concurrent clients (300) each stream answer after answer of about
// CHUNKS chunks (100) GAP_MS apart (20), for SECONDS (15) after a warm-up (WARMUP seconds, default
// two answers' length). CPU_PROF_DIR: write V8 CPU profiles of the gateway's API and worker there
// (bench/lib/profile-summary.mjs reads them). WORKER_CONCURRENCY (default: max(CLIENTS, 32)) is the worker's jobs in
// flight, so that the one worker can hold every client's stream at once. Prints the comparison
// table and writes bench/results/long-streams-latest.json. See bench/README.md.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, startRedisServer } from "@llmgw/testing";
import { childPids, waitForQuietMachine } from "./lib/cpu-meter.mjs";
import { formatLongStreams, runLongStreams } from "./lib/long-streams.mjs";
import { startMockProcess } from "./lib/processes.mjs";
import { describeMachine } from "./lib/report.mjs";

const settings = {
  clients: Number(process.env.CLIENTS ?? 300),
  chunks: Number(process.env.CHUNKS ?? 100),
  gapMs: Number(process.env.GAP_MS ?? 20),
  seconds: Number(process.env.SECONDS ?? 15),
  warmupSeconds: process.env.WARMUP === undefined ? undefined : Number(process.env.WARMUP),
};
settings.workerConcurrency = Number(process.env.WORKER_CONCURRENCY ?? Math.max(settings.clients, 32));
const profileDir = process.env.CPU_PROF_DIR;
const profileArgs = (name) => (profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
const log = (message) => console.error(`[long-streams] ${message}`);

const startedAt = new Date().toISOString();
const machine = describeMachine();
const busy = await waitForQuietMachine({ maxSeconds: 20, onBusy: (share) => log(`other processes use ${Math.round(share * 100)}% of the CPUs; waiting (up to 20 s)`) });
const redis = await startRedisServer();
const mock = await startMockProcess();
try {
  const result = await runLongStreams({ ...settings, redisUrl: redis.url, redisPid: childPids("redis-server")[0], mock, freePort, prefix: `long-${randomUUID()}`, log, nodeArgs: profileArgs });
  console.log(`\nlong streams, ${startedAt}`);
  console.log(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB RAM, node ${machine.node}${busy >= 0.1 ? `; started with ${Math.round(busy * 100)}% of the CPUs busy elsewhere` : ""}`);
  console.log(
    `${settings.clients} clients, answers of about ${settings.chunks} chunks ${settings.gapMs} ms apart, ${result.pipe.warmupSeconds} s warm-up then ${settings.seconds} s measured; ` +
      `gateway: 1 API, 1 worker (WORKER_CONCURRENCY=${settings.workerConcurrency}), CACHE_ENABLED=false, RATE_LIMIT_ENABLED=false\n`,
  );
  for (const line of formatLongStreams(result)) console.log(line);
  const folder = fileURLToPath(new URL("./results/", import.meta.url));
  mkdirSync(folder, { recursive: true });
  const file = `${folder}long-streams-latest.json`;
  writeFileSync(file, `${JSON.stringify({ startedAt, machine, settings, ...result }, null, 2)}\n`);
  console.log(`\nwritten: ${file}`);
} finally {
  await mock.stop();
  await redis.destroy();
}
