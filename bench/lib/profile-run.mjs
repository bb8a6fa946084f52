// A second gateway, its API and one worker under `node --cpu-prof`, driven by the sync JSON load
// at c=16; the profiles are summarised for the samples taken during the measured load only.
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { childPids, measureProcessCpu } from "./cpu-meter.mjs";
import { startBenchGateway } from "./gateway.mjs";
import { measureHttp } from "./load.mjs";
import { repoRoot } from "./processes.mjs";
import { summariseProfile } from "./profile-summary.mjs";
import { perRequest, readCommandStats } from "./redis-commands.mjs";

const PROFILED = new Set(["api", "worker-1"]);

/** Profiles the API and a worker; the .cpuprofile files land in bench/results/profiles/ (gitignored). */
export async function profileGateway({ redisUrl, upstreamUrl, clientKey, freePort, body, seconds, mockPid }) {
  const folder = join(repoRoot, "bench/results/profiles");
  mkdirSync(folder, { recursive: true });
  const nodeArgs = (name) => (PROFILED.has(name) ? ["--cpu-prof", `--cpu-prof-dir=${folder}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const stack = await startBenchGateway({ redisUrl, upstreamUrl, prefix: `bench-prof-${randomUUID()}`, clientKey, workers: 1, freePort, nodeArgs });
  const admin = new Redis(redisUrl);
  let load;
  let window;
  let stats;
  let cpu;
  try {
    const target = { url: `${stack.url}/v1/chat/completions`, headers: { authorization: `Bearer ${clientKey}` }, body, connections: 16 };
    await measureHttp({ ...target, seconds: 1, warmupSeconds: 0 });
    await admin.config("RESETSTAT");
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const pids = { api: stack.api.pid, worker: stack.workers[0].pid, "redis-server": childPids("redis-server")[0], "mock upstream": mockPid, "bench (load generator)": process.pid };
    ({ value: load, usage: cpu } = await measureProcessCpu(pids, () => measureHttp({ ...target, seconds, warmupSeconds: 0 })));
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    stats = await readCommandStats(admin);
  } finally {
    admin.disconnect();
    // The profiles are written when the processes exit.
    await stack.stop();
  }
  const files = ["api", "worker-1"].map((name) => join(folder, `${name}.cpuprofile`));
  const [api, worker] = files.map((file) => summariseProfile(JSON.parse(readFileSync(file, "utf8")), window));
  return {
    seconds,
    load: { rps: load.rps, p50: load.p50, p99: load.p99, requests: load.requests },
    /** CPUs used during the load (1 = one core all the time), per process and for the whole machine. */
    cpu,
    redisPerRequest: perRequest(stats, load.requests),
    api,
    worker,
    files: files.map((file) => file.slice(repoRoot.length)),
  };
}
