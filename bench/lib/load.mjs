// Closed-loop HTTP load with autocannon's programmatic API. autocannon's own latency histogram
// has 1 ms buckets, too coarse for sub-millisecond differences, so every 2xx response time
// (a float, in ms) is collected from its `response` events and the percentiles computed here.
import autocannon from "autocannon";
import { startCpuMeter } from "./cpu-meter.mjs";
import { median, percentiles } from "./stats.mjs";

/**
 * Runs a warm-up, then `repeats` runs of `seconds` each at `connections` concurrency.
 * `body` may contain `[<id>]`, replaced by a unique id per request (so no two requests are
 * cache hits or coalesced). rps is the median over runs; p50/p99 pool every run's samples.
 */
export async function measureHttp({ url, method = "POST", headers = {}, body, connections, seconds, warmupSeconds = 1, repeats = 1 }) {
  const options = { url, method, headers: { "content-type": "application/json", ...headers }, body, connections };
  if (warmupSeconds > 0) await runOnce({ ...options, duration: warmupSeconds });
  const runs = [];
  const meter = startCpuMeter();
  for (let index = 0; index < repeats; index++) runs.push(await runOnce({ ...options, duration: seconds }));
  const cpu = meter.stop();
  const latencies = runs.flatMap((run) => run.latencies);
  const { p50, p99 } = percentiles(latencies);
  const rpsRuns = runs.map((run) => run.rps);
  return {
    rps: median(rpsRuns),
    rpsRuns,
    p50,
    p99,
    requests: latencies.length,
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    statusCodes: mergeCounts(runs.map((run) => run.statusCodes)),
    foreignCpu: cpu.foreignShare,
  };
}

/** Sends exactly `amount` requests at `connections` concurrency; resolves when all answered. */
export async function sendBurst({ url, method = "POST", headers = {}, body, connections, amount }) {
  const meter = startCpuMeter();
  const result = await runOnce({ url, method, headers: { "content-type": "application/json", ...headers }, body, connections, amount });
  return { ...result, foreignCpu: meter.stop().foreignShare };
}

function runOnce({ url, method, headers, body, connections, duration, amount }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const statusCodes = {};
    const instance = autocannon(
      {
        url,
        method,
        headers,
        body,
        idReplacement: typeof body === "string" && body.includes("[<id>]"),
        connections,
        pipelining: 1,
        timeout: 30,
        ...(amount !== undefined ? { amount } : { duration }),
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = (result.finish.getTime() - result.start.getTime()) / 1000;
        resolve({
          latencies,
          rps: latencies.length / seconds,
          seconds,
          non2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          statusCodes,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

function mergeCounts(list) {
  const merged = {};
  for (const counts of list) for (const [code, count] of Object.entries(counts)) merged[code] = (merged[code] ?? 0) + count;
  return merged;
}
