// npm run bench: the gateway against the upstream called directly and two bare references, in
// one run, on loopback, then a CPU profile of the API and a worker under the sync JSON load.
// Settings (env): BENCH_SECONDS per measured run (3), BENCH_REPEATS runs per point (3),
// BENCH_WARMUP seconds (1), BENCH_BURST jobs per drain burst (2000), BENCH_PROFILE=0 skips
// the profile, BENCH_QUIET_WAIT seconds to wait at the start for other processes to leave the
// CPUs (20), BENCH_RETRY_SECONDS budget for measuring noisy points again (40), BENCH_LONG_STREAMS=0
// skips the long streams, BENCH_LONG_SECONDS their measured window (10; 15 in long-streams.mjs),
// BENCH_LONG_CLIENTS (300), BENCH_LONG_CHUNKS (100), BENCH_LONG_GAP_MS (20). See bench/README.md.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { freePort, startRedisServer } from "@llmgw/testing";
import { startBenchGateway } from "./lib/gateway.mjs";
import { measureHttp } from "./lib/load.mjs";
import { measureJobDrain, measureSyncDrain, waitForDrain } from "./lib/jobs-throughput.mjs";
import { childPids, createNoiseRetry, waitForQuietMachine } from "./lib/cpu-meter.mjs";
import { formatLongStreams, runLongStreams } from "./lib/long-streams.mjs";
import { readRss, startMockProcess, startReference } from "./lib/processes.mjs";
import { profileGateway } from "./lib/profile-run.mjs";
import { describeMachine, formatTable, row, writeResults } from "./lib/report.mjs";
import { measureStream } from "./lib/stream-timing.mjs";
import { traceOneRequest } from "./lib/redis-commands.mjs";
import { formatProfile, formatTrace } from "./lib/trace-format.mjs";
import { request } from "undici";

const settings = {
  seconds: Number(process.env.BENCH_SECONDS ?? 3),
  repeats: Number(process.env.BENCH_REPEATS ?? 3),
  warmupSeconds: Number(process.env.BENCH_WARMUP ?? 1),
  burst: Number(process.env.BENCH_BURST ?? 2000),
  profile: process.env.BENCH_PROFILE !== "0",
  quietWaitSeconds: Number(process.env.BENCH_QUIET_WAIT ?? 20),
  retrySeconds: Number(process.env.BENCH_RETRY_SECONDS ?? 40),
  concurrencies: [1, 16, 64],
  streamConcurrencies: [1, 16],
  // 5 words: about 10 stream events; 10 words 5 ms apart: about 20 events, a realistic token pace.
  syncAnswer: "[[mock:words=5]]",
  streamAnswer: "[[mock:words=10,chunk_delay=5]]",
  // Long streams (long-streams.mjs): a shorter window than the standalone script's 15 s.
  longStreams: process.env.BENCH_LONG_STREAMS !== "0",
  long: {
    clients: Number(process.env.BENCH_LONG_CLIENTS ?? 300),
    chunks: Number(process.env.BENCH_LONG_CHUNKS ?? 100),
    gapMs: Number(process.env.BENCH_LONG_GAP_MS ?? 20),
    seconds: Number(process.env.BENCH_LONG_SECONDS ?? 10),
  },
};
const clientKey = `gw-bench-${randomUUID().replace(/-/g, "")}`;
const auth = { authorization: `Bearer ${clientKey}` };
const upstreamAuth = { authorization: "Bearer sk-bench-provider" };
const chat = (content, extra = {}) => JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content }], ...extra });
const uniqueJson = chat(`bench [<id>] ${settings.syncAnswer}`);
const fixedJson = chat(`bench cached ${settings.syncAnswer}`);
const streamBody = (n) => chat(`stream ${n} ${randomUUID()} ${settings.streamAnswer}`, { stream: true, stream_options: { include_usage: true } });
const point = { seconds: settings.seconds, repeats: settings.repeats, warmupSeconds: settings.warmupSeconds };
const log = (message) => console.error(`[bench] ${message}`);

const startedAt = new Date().toISOString();
const machine = { ...describeMachine(), loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))) };
const rows = [];
const notes = [];
const results = { startedAt, machine, settings, rows, notes };
const began = performance.now();
/** The upstream called directly, per concurrency: the baseline of every "+p50 vs direct". */
const direct = {};
const retry = createNoiseRetry({
  budgetSeconds: settings.retrySeconds,
  onRetry: (share) => log(`  ${Math.round(share * 100)}% of the CPUs went to other processes: measuring that point again`),
});

if (settings.quietWaitSeconds > 0) {
  const busy = await waitForQuietMachine({
    maxSeconds: settings.quietWaitSeconds,
    onBusy: (share) => log(`other processes use ${Math.round(share * 100)}% of the CPUs; waiting (up to ${settings.quietWaitSeconds} s) for a quieter machine`),
  });
  if (busy >= 0.1) notes.push(`started on a busy machine: ${Math.round(busy * 100)}% of the CPUs used by other processes`);
}
const redis = await startRedisServer();
const mock = await startMockProcess();
let gateway;
try {
  log(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}`);
  gateway = await startBenchGateway({ redisUrl: redis.url, upstreamUrl: mock.url, prefix: `bench-${randomUUID()}`, clientKey, workers: 1, freePort });
  const api = `${gateway.url}/v1/chat/completions`;
  const upstream = `${mock.url}/chat/completions`;
  const apiRss = () => readRss(gateway.api.pid).peakMb;
  await checkGateway(api);

  for (const connections of settings.concurrencies) {
    log(`upstream direct, c=${connections}`);
    direct[connections] = await retry.quietly(() => measureHttp({ url: upstream, headers: upstreamAuth, body: uniqueJson, connections, ...point }));
    rows.push(row({ scenario: "upstream direct (JSON)", concurrency: connections, ...direct[connections], note: noteOf(direct[connections]) }));
  }
  const gatewayPoint = async (scenario, connections, options) => {
    log(`${scenario}, c=${connections}`);
    const result = await retry.quietly(() => measureHttp({ url: api, headers: auth, connections, ...point, ...options }));
    rows.push(row({ scenario, concurrency: connections, ...result, added: result.p50 - direct[connections].p50, apiPeakRssMb: apiRss(), note: noteOf(result) }));
    return result;
  };
  const sync = {};
  for (const connections of settings.concurrencies) sync[connections] = await gatewayPoint("gateway sync JSON (miss)", connections, { body: uniqueJson });
  const cache = {};
  for (const connections of settings.concurrencies) cache[connections] = await gatewayPoint("gateway cache hit", connections, { body: fixedJson });

  const stream = await streamPoints(api, upstream);
  await jobPoints(gateway, apiRss);
  const references = await referencePoints();
  results.apiPeakRssMb = apiRss();

  log("tracing one request's Redis round trips");
  results.redisTrace = {
    syncMiss: await traceOneRequest(redis.url, () => post(api, chat(`trace ${randomUUID()} ${settings.syncAnswer}`)), () => waitForDrain(gateway.queue)),
    cacheHit: await traceOneRequest(redis.url, () => post(api, fixedJson)),
  };
  await gateway.stop();
  gateway = undefined;

  if (settings.longStreams) results.longStreams = await longStreamPoints();

  if (settings.profile) {
    log("profiling the API and a worker under sync JSON at c=16");
    results.profile = await profileGateway({ redisUrl: redis.url, upstreamUrl: mock.url, clientKey, freePort, body: uniqueJson, seconds: 8, mockPid: mock.process.pid });
  }
  results.targets = checkTargets({ sync, cache, direct, stream, references, rss: results.apiPeakRssMb, longStreams: results.longStreams });
  results.durationSeconds = Math.round((performance.now() - began) / 1000);
  results.noiseRetrySeconds = retry.spentSeconds;
  printReport(results);
  const written = writeResults(fileURLToPath(new URL("./results/", import.meta.url)), results);
  console.log(`\nwritten: ${written.latest} (and ${written.copy})`);
} finally {
  await gateway?.stop();
  await mock.stop();
  await redis.destroy();
}

async function streamPoints(api, upstream) {
  const base = (url) => ({ url: new URL(url).origin, path: new URL(url).pathname, body: streamBody, ...point });
  const stream = {};
  for (const connections of settings.streamConcurrencies) {
    log(`streaming, c=${connections}`);
    const directStream = await retry.quietly(() => measureStream({ ...base(upstream), headers: upstreamAuth, concurrency: connections }));
    const viaGateway = await retry.quietly(() => measureStream({ ...base(api), headers: auth, concurrency: connections }));
    stream[connections] = { direct: directStream, gateway: viaGateway };
    const note = (result) => `${result.events} events, 5 ms apart${result.failures ? `, ${result.failures} failed` : ""}`;
    const rss = readRss(gateway.api.pid).peakMb;
    rows.push(row({ scenario: "upstream direct stream: first byte", concurrency: connections, rps: directStream.rps, p50: directStream.ttfbP50, p99: directStream.ttfbP99, note: note(directStream), foreignCpu: directStream.foreignCpu }));
    rows.push(row({ scenario: "gateway stream: first byte", concurrency: connections, rps: viaGateway.rps, p50: viaGateway.ttfbP50, p99: viaGateway.ttfbP99, added: viaGateway.ttfbP50 - directStream.ttfbP50, apiPeakRssMb: rss, note: note(viaGateway), foreignCpu: viaGateway.foreignCpu }));
    rows.push(row({ scenario: "upstream direct stream: total", concurrency: connections, rps: directStream.rps, p50: directStream.totalP50, p99: directStream.totalP99 }));
    rows.push(row({ scenario: "gateway stream: total", concurrency: connections, rps: viaGateway.rps, p50: viaGateway.totalP50, p99: viaGateway.totalP99, added: viaGateway.totalP50 - directStream.totalP50, apiPeakRssMb: rss }));
  }
  return stream;
}

/** Long streams through the bare pipe and through a gateway of their own (cache and rate limits off). */
async function longStreamPoints() {
  const long = { ...settings.long, workerConcurrency: Math.max(settings.long.clients, 32) };
  // A Redis of its own: the shared one holds the earlier scenarios' job logs, which its RSS would count.
  const shared = new Set(childPids("redis-server"));
  const ownRedis = await startRedisServer();
  let measured;
  try {
    const redisPid = childPids("redis-server").find((pid) => !shared.has(pid));
    measured = await runLongStreams({ ...long, redisUrl: ownRedis.url, redisPid, mock, freePort, prefix: `long-${randomUUID()}`, log, quietly: (measure) => retry.quietly(measure) });
  } finally {
    await ownRedis.destroy();
  }
  const what = `~${measured.pipe.chunksPerStream} chunks ${long.gapMs} ms apart, ${long.seconds} s window`;
  const cpu = (result, names) => names.map((name) => `${name} ${(result.cpuMsPerChunk[name] * 1000).toFixed(1)}`).join(", ");
  const errors = (result) => (result.errors ? `, ${result.errors} errors` : "");
  const { pipe, gateway: viaGateway } = measured;
  const scenario = (side, figure) => `long streams, ${side}: ${figure}`;
  rows.push(row({ scenario: scenario("bare pipe", "first chunk"), concurrency: long.clients, rps: pipe.streamsPerSecond, p50: pipe.ttfcP50, p99: pipe.ttfcP99, note: `streams/s; ${what}; ${Math.round(pipe.chunksPerSecond)} chunks/s${errors(pipe)}`, foreignCpu: pipe.foreignCpu }));
  rows.push(row({ scenario: scenario("bare pipe", "chunk gap"), concurrency: long.clients, rps: pipe.chunksPerSecond, p50: pipe.gapP50, p99: pipe.gapP99, note: `chunks/s; CPU µs/chunk: ${cpu(pipe, ["pipe", "mock", "bench"])}; pipe peak RSS ${Math.round(pipe.peakRssSumMb)} MB` }));
  rows.push(row({ scenario: scenario("gateway", "first chunk"), concurrency: long.clients, rps: viaGateway.streamsPerSecond, p50: viaGateway.ttfcP50, p99: viaGateway.ttfcP99, apiPeakRssMb: viaGateway.peakRssMb.api, note: `streams/s; 1 API, 1 worker (concurrency ${long.workerConcurrency}), cache and limits off; ${Math.round(viaGateway.chunksPerSecond)} chunks/s${errors(viaGateway)}`, foreignCpu: viaGateway.foreignCpu }));
  rows.push(row({ scenario: scenario("gateway", "chunk gap"), concurrency: long.clients, rps: viaGateway.chunksPerSecond, p50: viaGateway.gapP50, p99: viaGateway.gapP99, apiPeakRssMb: viaGateway.peakRssMb.api, note: `chunks/s; CPU µs/chunk: ${cpu(viaGateway, ["api", "worker", "redis", "mock", "bench"])}; API+worker+Redis peak RSS ${Math.round(viaGateway.peakRssSumMb)} MB` }));
  return { settings: long, ...measured };
}

async function jobPoints(stack, apiRss) {
  const jobsUrl = `${stack.url}/v1/jobs`;
  const jobBody = `{"request":${chat(`job [<id>] ${settings.syncAnswer}`)}}`;
  const probe = await post(jobsUrl, jobBody.replace("[<id>]", randomUUID()));
  const hasJobs = probe.status === 202;
  if (hasJobs) {
    // Submit alone: with the queue paused no worker competes for the CPUs, and the backlog is
    // dropped afterwards instead of being worked off (the drain bursts below measure that).
    await waitForDrain(stack.queue);
    await stack.queue.pause();
    try {
      for (const connections of settings.concurrencies) {
        log(`job submit, c=${connections}`);
        const result = await retry.quietly(() => measureHttp({ url: jobsUrl, headers: auth, body: jobBody, connections, ...point }));
        rows.push(row({ scenario: "gateway job submit (queue paused)", concurrency: connections, ...result, added: result.p50 - direct[connections].p50, apiPeakRssMb: apiRss(), note: noteOf(result) }));
        await stack.queue.drain(true);
      }
    } finally {
      await stack.queue.resume();
    }
  } else {
    notes.push(`POST /v1/jobs answered ${probe.status}: job submit skipped; jobs/s measured with synchronous requests (128 in flight)`);
  }
  for (const workers of [1, 2]) {
    if (stack.workers.length < workers) await stack.addWorker();
    log(`jobs completed per second, ${workers} worker(s), burst of ${settings.burst}`);
    const drain = await retry.quietly(() =>
      hasJobs
        ? measureJobDrain({ queue: stack.queue, url: jobsUrl, headers: auth, body: jobBody, amount: settings.burst })
        : measureSyncDrain({ url: `${stack.url}/v1/chat/completions`, headers: auth, body: uniqueJson, amount: settings.burst }),
    );
    const how = hasJobs ? "queued while paused, then drained" : "sync requests, 128 in flight";
    rows.push(row({ scenario: `jobs completed/s, ${workers} worker${workers > 1 ? "s" : ""}`, concurrency: null, rps: drain.jobsPerSecond, apiPeakRssMb: apiRss(), foreignCpu: drain.foreignCpu, note: `${drain.jobs} jobs in ${drain.seconds.toFixed(2)} s (${how})${drain.drained ? "" : ", NOT drained"}` }));
  }
}

async function referencePoints() {
  const references = {};
  const env = { UPSTREAM_URL: mock.url, REDIS_URL: redis.url, PREFIX: `ref-${randomUUID()}` };
  const worker = await startReference("ref-bullmq-worker", "bullmq-round-trip.mjs", env, "worker");
  const bull = await startReference("ref-bullmq-api", "bullmq-round-trip.mjs", env, "api");
  try {
    references.bullmq = {};
    for (const connections of [1, 16]) {
      log(`reference: bare BullMQ round trip, c=${connections}`);
      const result = await retry.quietly(() => measureHttp({ url: `${bull.url}/v1/chat/completions`, body: uniqueJson, connections, ...point }));
      references.bullmq[connections] = result;
      rows.push(row({ scenario: "ref: bare BullMQ round trip", concurrency: connections, ...result, added: result.p50 - direct[connections].p50, note: noteOf(result) }));
    }
  } finally {
    await bull.stop();
    await worker.stop();
  }
  const proxy = await startReference("ref-fastify-proxy", "fastify-proxy.mjs", env);
  try {
    references.proxy = {};
    for (const connections of [1, 16]) {
      log(`reference: bare Fastify + undici proxy, c=${connections}`);
      const result = await retry.quietly(() => measureHttp({ url: `${proxy.url}/v1/chat/completions`, body: uniqueJson, connections, ...point }));
      references.proxy[connections] = result;
      rows.push(row({ scenario: "ref: bare Fastify+undici proxy", concurrency: connections, ...result, added: result.p50 - direct[connections].p50, note: noteOf(result) }));
    }
  } finally {
    await proxy.stop();
  }
  return references;
}

async function post(url, body, headers = auth) {
  const response = await request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** One answer through the whole stack before any load, and the cache scenario primed (a HIT). */
async function checkGateway(api) {
  const miss = await post(api, uniqueJson.replace("[<id>]", randomUUID()));
  if (miss.status !== 200) throw new Error(`the gateway answered ${miss.status}: ${miss.text.slice(0, 300)}`);
  if (miss.headers["x-cache"] !== "MISS") notes.push(`a unique request answered x-cache: ${miss.headers["x-cache"]} (expected MISS)`);
  // The worker stores the answer just after the API has it: ask until the cache answers.
  const deadline = Date.now() + 5000;
  for (;;) {
    const answer = await post(api, fixedJson);
    if (answer.status !== 200) throw new Error(`the gateway answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    if (answer.headers["x-cache"] === "HIT") return;
    if (Date.now() > deadline) throw new Error(`the cache never answered HIT (x-cache: ${answer.headers["x-cache"]})`);
  }
}

function noteOf(result) {
  const parts = [];
  if (result.rpsRuns.length > 1) parts.push(`runs ${result.rpsRuns.map((rps) => Math.round(rps)).join("/")} rps`);
  if (result.non2xx) parts.push(`${result.non2xx} non-2xx ${JSON.stringify(result.statusCodes)}`);
  if (result.errors) parts.push(`${result.errors} errors`);
  return parts.join(", ");
}

/**
 * Issue 13's targets (and issue 6's bound on the API's RSS), each against the reference or the
 * direct figure measured in this run. CPU per synchronous request is bench/cpu-per-request.mjs's.
 */
function checkTargets({ sync, cache, direct: upstream, stream, references, rss, longStreams }) {
  const targets = [];
  const add = (target, measured, bound, met) => targets.push({ target, measured, bound, met });
  const bullmq16 = references.bullmq[16].rps;
  const proxy16 = references.proxy[16].rps;
  add("sync JSON rps at c=16 >= 0.6 x bare BullMQ round trip", Math.round(sync[16].rps), Math.round(0.6 * bullmq16), sync[16].rps >= 0.6 * bullmq16);
  const syncAdded = sync[1].p50 - upstream[1].p50;
  add("sync JSON p50 added over direct at c=1 <= 2.5 ms", round2(syncAdded), 2.5, syncAdded <= 2.5);
  add("cache hit rps at c=16 >= 0.9 x bare Fastify+undici proxy", Math.round(cache[16].rps), Math.round(0.9 * proxy16), cache[16].rps >= 0.9 * proxy16);
  const ttfbAdded = stream[1].gateway.ttfbP50 - stream[1].direct.ttfbP50;
  add("stream first byte p50 added over direct at c=1 <= 2.5 ms", round2(ttfbAdded), 2.5, ttfbAdded <= 2.5);
  add("API peak RSS under the c=64 loads <= 200 MB", Math.round(rss), 200, rss <= 200);
  if (longStreams) {
    const { pipe, gateway } = longStreams;
    const relay = gateway.cpuMsPerChunk.api + gateway.cpuMsPerChunk.worker + gateway.cpuMsPerChunk.redis;
    add("long streams: streams/s >= 0.95 x the pipe", round2(gateway.streamsPerSecond), round2(0.95 * pipe.streamsPerSecond), gateway.streamsPerSecond >= 0.95 * pipe.streamsPerSecond);
    add("long streams: CPU µs per chunk (API + worker + Redis) <= 2 x the pipe", round2(relay * 1000), round2(2 * pipe.cpuMsPerChunk.pipe * 1000), relay <= 2 * pipe.cpuMsPerChunk.pipe);
    add("long streams: chunk gap p99 <= 2 x the pipe + 10 ms", round2(gateway.gapP99), round2(2 * pipe.gapP99 + 10), gateway.gapP99 <= 2 * pipe.gapP99 + 10);
    add("long streams: first chunk p99 <= the pipe + 250 ms", round2(gateway.ttfcP99), round2(pipe.ttfcP99 + 250), gateway.ttfcP99 <= pipe.ttfcP99 + 250);
    add("long streams: peak RSS of API + worker + Redis <= 300 MB", Math.round(gateway.peakRssSumMb), 300, gateway.peakRssSumMb <= 300);
  }
  return targets;
}

function round2(value) {
  return Math.round(value * 100) / 100;
}

function printReport(report) {
  const { machine: host } = report;
  console.log(`\nllm-gateway benchmark, ${report.startedAt}`);
  console.log(`machine: ${host.cpus} CPUs (${host.cpuModel}), ${host.memoryGb} GB RAM, ${host.os}, node ${host.node}`);
  console.log(`each point: ${settings.warmupSeconds} s warm-up, then ${settings.repeats} x ${settings.seconds} s; latencies in ms; loopback; load generator, mock upstream, redis-server, API and workers share the machine\n`);
  for (const line of formatTable(report.rows)) console.log(line);
  for (const note of report.notes) console.log(`note: ${note}`);
  const noisy = report.rows.filter((entry) => entry.foreignCpuShare >= 0.03).length;
  if (noisy > 0) console.log(`WARNING: ${noisy} points ran while other processes used the CPU (NOISY): rerun on a quiet machine to compare.`);
  if (report.longStreams) {
    const long = report.longStreams.settings;
    console.log(`\nlong streams: ${long.clients} clients, answers of about ${long.chunks} chunks ${long.gapMs} ms apart, ${long.seconds} s measured (bench/long-streams.mjs: 15 s):`);
    for (const line of formatLongStreams(report.longStreams)) console.log(`  ${line}`);
  }
  console.log("\ntargets (issue 13), against figures of this run:");
  for (const target of report.targets) console.log(`  ${target.met ? "met " : "MISS"}  ${target.target}: ${target.measured} (bound ${target.bound})`);
  console.log("\nRedis round trips of one synchronous JSON request (cache miss), in order:");
  for (const line of formatTrace(report.redisTrace.syncMiss)) console.log(line);
  console.log("Redis round trips of one cache hit:");
  for (const line of formatTrace(report.redisTrace.cacheHit)) console.log(line);
  if (report.profile) for (const line of formatProfile(report.profile)) console.log(line);
  console.log(`\ntotal bench time ${report.durationSeconds} s (${report.noiseRetrySeconds} s of it re-measuring noisy points)`);
}
