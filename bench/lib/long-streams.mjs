// Long streams: `clients` concurrent clients, each streaming answer after answer (`stream: true`)
// of about `chunks` chunks `gapMs` apart from the mock upstream, through a relay (the bare
// Fastify + undici pipe of references/, or the gateway). Figures are taken in a fixed window after
// a warm-up, with the load running on both sides of it: streams completed and chunks received
// inside the window, CPU of each process over the window (/proc/<pid>/stat), the gap between two
// chunks of one stream and the time to the first chunk at the client, peak RSS (VmRSS sampled
// every 100 ms from the start of the warm-up to the end of the window, and VmHWM), and errors over
// the whole run, the tail included.
import { randomUUID } from "node:crypto";
import { loremWords } from "@llmgw/testing";
import { Pool } from "undici";
import { measureProcessCpu, startCpuMeter } from "./cpu-meter.mjs";
import { startBenchGateway } from "./gateway.mjs";
import { readRss, startReference } from "./processes.mjs";
import { median, percentiles } from "./stats.mjs";

/**
 * The mock cuts its answer into pieces of 1 to 6 characters (3.5 on average), and streams a role
 * chunk before them and a finish chunk and a usage chunk after them: the word count whose answer
 * comes out at about `chunks` chunks. The count per answer varies a little with each request's
 * seed; the run reports the median it saw.
 */
export function wordsForChunks(chunks) {
  let words = 1;
  while (loremWords(words).length / 3.5 + 3 < chunks) words++;
  return words;
}

/** The chat request of one long stream: unique (never coalesced, never a cache hit). */
export function longStreamBody({ chunks, gapMs }) {
  const directive = `[[mock:words=${wordsForChunks(chunks)},chunk_delay=${gapMs}]]`;
  return () =>
    JSON.stringify({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `long stream ${randomUUID()} ${directive}` }],
      stream: true,
      stream_options: { include_usage: true },
    });
}

/**
 * Both sides, one after the other, against the mock upstream `mock` (startMockProcess) and the
 * Redis at `redisUrl` (`redisPid` for its CPU and memory): the bare pipe, then a gateway of its
 * own (1 API, 1 worker with `workerConcurrency` jobs in flight, cache off, rate limits off).
 * `quietly(measure)` may measure a noisy point again (createNoiseRetry); `nodeArgs(name)` adds Node
 * flags to the gateway's processes (startBenchGateway). Resolves to { pipe, gateway }.
 */
export async function runLongStreams({ clients, chunks, gapMs, seconds, warmupSeconds, workerConcurrency, redisUrl, redisPid, mock, freePort, prefix, log = () => {}, quietly = (measure) => measure(), nodeArgs }) {
  const load = { path: "/v1/chat/completions", clients, chunks, gapMs, seconds, warmupSeconds };
  const pipe = await startReference("ref-stream-pipe", "fastify-stream-pipe.mjs", { UPSTREAM_URL: mock.url });
  let pipeResult;
  try {
    log(`long streams through the bare Fastify + undici pipe: ${clients} clients, ~${chunks} chunks ${gapMs} ms apart, ${seconds} s`);
    const pid = pipe.process.pid;
    pipeResult = await quietly(() => measureLongStreams({ ...load, url: pipe.url, pids: { pipe: pid, mock: mock.process.pid }, rssPids: { pipe: pid } }));
  } finally {
    await pipe.stop();
  }
  const clientKey = `gw-bench-${randomUUID().replace(/-/g, "")}`;
  const gateway = await startBenchGateway({
    redisUrl,
    upstreamUrl: mock.url,
    prefix,
    clientKey,
    workers: 1,
    freePort,
    nodeArgs,
    extraEnv: { CACHE_ENABLED: "false", RATE_LIMIT_ENABLED: "false", WORKER_CONCURRENCY: String(workerConcurrency) },
  });
  let gatewayResult;
  try {
    log(`long streams through the gateway (1 API, 1 worker, WORKER_CONCURRENCY=${workerConcurrency}, cache and rate limits off)`);
    const processes = { api: gateway.api.pid, worker: gateway.workers[0].pid, redis: redisPid };
    gatewayResult = await quietly(() =>
      measureLongStreams({ ...load, url: gateway.url, headers: { authorization: `Bearer ${clientKey}` }, pids: { ...processes, mock: mock.process.pid }, rssPids: processes }),
    );
  } finally {
    await gateway.stop();
  }
  return { pipe: pipeResult, gateway: gatewayResult };
}

/**
 * Runs the load against `url` + `path` and measures it. `pids` (name -> pid) are the processes
 * whose CPU is measured (`bench`, this process, is added: the clients); `rssPids` those whose
 * memory is summed for the peak RSS.
 */
export async function measureLongStreams({ url, path, headers = {}, clients, chunks, gapMs, seconds, warmupSeconds, pids, rssPids }) {
  const body = longStreamBody({ chunks, gapMs });
  const streamMs = chunks * gapMs;
  // Enough for every client to have started (spread over one answer's length) and finished one answer.
  const warmupMs = (warmupSeconds ?? Math.max(2, (2 * streamMs) / 1000)) * 1000;
  const pool = new Pool(url, { connections: clients, pipelining: 1, headersTimeout: 60_000, bodyTimeout: 60_000, keepAliveTimeout: 30_000 });
  const requestHeaders = { "content-type": "application/json", accept: "text/event-stream", ...headers };

  const window = { counting: false };
  const sample = { ttfc: [], gaps: [], chunksPerStream: [], streams: 0, chunks: 0 };
  const errors = { total: 0, inWindow: 0, kinds: {} };
  const failed = (kind) => {
    errors.total++;
    if (window.counting) errors.inWindow++;
    errors.kinds[kind] = (errors.kinds[kind] ?? 0) + 1;
  };

  const rss = sampleRss(rssPids);
  let stopping = false;
  const loops = Array.from({ length: clients }, async (_, index) => {
    // Spread the clients' first requests over one answer's length, as independent users would be.
    await sleep((index * Math.min(streamMs, warmupMs / 2)) / clients);
    while (!stopping) {
      try {
        const outcome = await streamOnce(pool, path, requestHeaders, body(), window, sample);
        if (outcome) failed(outcome);
      } catch (error) {
        failed(error.code ?? error.message?.slice(0, 60) ?? "error");
        await sleep(50);
      }
    }
  });

  await sleep(warmupMs);
  const meter = startCpuMeter();
  const windowStart = performance.now();
  const { usage } = await measureProcessCpu({ ...pids, bench: process.pid }, async () => {
    window.counting = true;
    await sleep(seconds * 1000);
    window.counting = false;
  });
  const elapsedMs = performance.now() - windowStart;
  const foreignCpu = meter.stop().foreignShare;
  stopping = true;
  // The tail: streams under way finish (their errors count, their figures do not).
  await Promise.race([Promise.all(loops), sleep(streamMs + 30_000)]);
  const memory = rss.stop();
  await pool.destroy();

  const gaps = percentiles(sample.gaps);
  const ttfc = percentiles(sample.ttfc);
  const cpuMsPerChunk = {};
  for (const [name, cpus] of Object.entries(usage)) if (name !== "machine") cpuMsPerChunk[name] = sample.chunks > 0 ? (cpus * elapsedMs) / sample.chunks : NaN;
  return {
    clients,
    chunksAsked: chunks,
    gapMs,
    seconds: elapsedMs / 1000,
    warmupSeconds: warmupMs / 1000,
    streamsPerSecond: sample.streams / (elapsedMs / 1000),
    chunksPerSecond: sample.chunks / (elapsedMs / 1000),
    streams: sample.streams,
    chunks: sample.chunks,
    chunksPerStream: sample.chunksPerStream.length ? median(sample.chunksPerStream) : NaN,
    gapP50: gaps.p50,
    gapP99: gaps.p99,
    ttfcP50: ttfc.p50,
    ttfcP99: ttfc.p99,
    /** CPU milliseconds per chunk received by the clients, per process (`bench` = the clients). */
    cpuMsPerChunk,
    /** CPUs in use during the window (1 = one core all the time), per process and the whole machine. */
    cpus: usage,
    peakRssMb: memory.peak,
    peakRssSumMb: memory.peakSum,
    /** VmRSS when the load began: Redis may already hold what earlier scenarios left. */
    startRssMb: memory.start,
    vmHwmMb: Object.fromEntries(Object.entries(rssPids).map(([name, pid]) => [name, readRss(pid).peakMb])),
    errors: errors.total,
    errorsInWindow: errors.inWindow,
    errorKinds: errors.kinds,
    foreignCpu,
  };
}

/**
 * One answer: records, while the window is open, the time to its first chunk (a `data:` event
 * other than `[DONE]`), the gap before each further chunk, and the stream if it completes.
 * Resolves to an error kind, or undefined for a complete answer (ending with `data: [DONE]`).
 */
async function streamOnce(pool, path, headers, body, window, sample) {
  const start = performance.now();
  const response = await pool.request({ path, method: "POST", headers, body });
  if (response.statusCode !== 200) {
    await response.body.dump();
    return `status ${response.statusCode}`;
  }
  response.body.setEncoding("utf8");
  let text = "";
  let last;
  let chunks = 0;
  let done = false;
  let errorEvent = false;
  for await (const piece of response.body) {
    const now = performance.now();
    text += piece;
    let boundary;
    while ((boundary = text.indexOf("\n\n")) !== -1) {
      const block = text.slice(0, boundary);
      text = text.slice(boundary + 2);
      // An event may carry comment lines (`: keep-alive`) or a blank line before its data line.
      const at = block.startsWith("data: ") ? 0 : block.indexOf("\ndata: ") + 1;
      if (at === 0 && !block.startsWith("data: ")) continue;
      if (block.startsWith("[DONE]", at + 6)) {
        done = true;
        continue;
      }
      if (block.startsWith('{"error"', at + 6)) errorEvent = true;
      chunks++;
      if (window.counting) {
        sample.chunks++;
        if (last === undefined) sample.ttfc.push(now - start);
        else sample.gaps.push(now - last);
      }
      last = now;
    }
  }
  if (errorEvent) return "error event";
  if (!done) return "ended without [DONE]";
  if (window.counting) {
    sample.streams++;
    sample.chunksPerStream.push(chunks);
  }
  return undefined;
}

/** Samples VmRSS of `pids` every 100 ms: per process peak and first sample, and the peak of their sum. */
function sampleRss(pids) {
  const peak = Object.fromEntries(Object.keys(pids).map((name) => [name, 0]));
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readRss(pid).nowMb]));
  let peakSum = 0;
  const take = () => {
    let sum = 0;
    for (const [name, pid] of Object.entries(pids)) {
      const now = readRss(pid).nowMb;
      if (!Number.isFinite(now)) continue;
      peak[name] = Math.max(peak[name], now);
      sum += now;
    }
    peakSum = Math.max(peakSum, sum);
  };
  take();
  const timer = setInterval(take, 100);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { peak, peakSum, start };
    },
  };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

/** The comparison table: figure | bare pipe | gateway | gateway / pipe. */
export function formatLongStreams({ pipe, gateway }) {
  const us = (ms) => ms * 1000;
  const gatewayCpu = (result) => ["api", "worker", "redis"].reduce((sum, name) => sum + (result.cpuMsPerChunk[name] ?? 0), 0);
  const lines = [
    ["streams completed/s", pipe.streamsPerSecond, gateway.streamsPerSecond, 1],
    ["chunks/s (at the clients)", pipe.chunksPerSecond, gateway.chunksPerSecond, 0],
    ["chunks per answer (median)", pipe.chunksPerStream, gateway.chunksPerStream, 0],
    ["CPU µs per chunk: relay (pipe | API+worker+Redis)", us(pipe.cpuMsPerChunk.pipe), us(gatewayCpu(gateway)), 1],
    ["  CPU µs per chunk: API", null, us(gateway.cpuMsPerChunk.api), 1],
    ["  CPU µs per chunk: worker", null, us(gateway.cpuMsPerChunk.worker), 1],
    ["  CPU µs per chunk: Redis", null, us(gateway.cpuMsPerChunk.redis), 1],
    ["CPU µs per chunk: mock upstream", us(pipe.cpuMsPerChunk.mock), us(gateway.cpuMsPerChunk.mock), 1],
    ["CPU µs per chunk: clients (bench process)", us(pipe.cpuMsPerChunk.bench), us(gateway.cpuMsPerChunk.bench), 1],
    ["CPUs busy: clients (bench process)", pipe.cpus.bench, gateway.cpus.bench, 2],
    ["CPUs busy: whole machine", pipe.cpus.machine, gateway.cpus.machine, 2],
    ["gap between chunks p50 ms", pipe.gapP50, gateway.gapP50, 2],
    ["gap between chunks p99 ms", pipe.gapP99, gateway.gapP99, 2],
    ["time to first chunk p50 ms", pipe.ttfcP50, gateway.ttfcP50, 2],
    ["time to first chunk p99 ms", pipe.ttfcP99, gateway.ttfcP99, 2],
    ["peak RSS MB (pipe | API+worker+Redis)", pipe.peakRssSumMb, gateway.peakRssSumMb, 0],
    ["  peak RSS MB: API", null, gateway.peakRssMb.api, 0],
    ["  peak RSS MB: worker", null, gateway.peakRssMb.worker, 0],
    ["  peak RSS MB: Redis", null, gateway.peakRssMb.redis, 0],
    ["  RSS MB of Redis when the load began", null, gateway.startRssMb.redis, 0],
    ["errors (whole run, tail included)", pipe.errors, gateway.errors, 0],
  ].map(([figure, a, b, digits]) => [
    figure,
    a === null ? "-" : fixed(a, digits),
    fixed(b, digits),
    a === null || !Number.isFinite(a) || a === 0 || !Number.isFinite(b) ? "-" : `${(b / a).toFixed(2)}x`,
  ]);
  const headers = ["figure", "bare pipe", "gateway", "ratio"];
  const widths = headers.map((header, index) => Math.max(header.length, ...lines.map((line) => line[index].length)));
  const format = (line) => line.map((value, index) => (index === 0 ? value.padEnd(widths[index]) : value.padStart(widths[index]))).join("  ");
  const table = [format(headers), widths.map((width) => "-".repeat(width)).join("  "), ...lines.map(format)];
  const kinds = (result) => Object.entries(result.errorKinds).map(([kind, count]) => `${kind} x${count}`).join(", ");
  for (const [name, result] of [["bare pipe", pipe], ["gateway", gateway]]) {
    if (result.errors) table.push(`${name} errors: ${kinds(result)} (${result.errorsInWindow} inside the window)`);
    if (result.foreignCpu >= 0.03) table.push(`${name}: NOISY, ${Math.round(result.foreignCpu * 100)}% of the CPUs used outside the bench during the window`);
  }
  return table;
}
