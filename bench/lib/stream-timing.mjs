// Streaming latency, which autocannon cannot see: `concurrency` loops of SSE requests over one
// undici pool, each timing the first event and the end of the stream.
import { Pool } from "undici";
import { startCpuMeter } from "./cpu-meter.mjs";
import { median, percentiles } from "./stats.mjs";

/**
 * Time to first byte is taken at the first complete `data:` event (the first token a client
 * can show; the gateway sends headers only with it), total at the end of the body.
 * `body(n)` builds the n-th request body (unique, so nothing is coalesced).
 */
export async function measureStream({ url, path, headers = {}, body, concurrency, seconds, warmupSeconds = 1, repeats = 1 }) {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  let sequence = 0;
  try {
    await runFor(warmupSeconds * 1000);
    const runs = [];
    const meter = startCpuMeter();
    for (let index = 0; index < repeats; index++) runs.push(await runFor(seconds * 1000));
    const cpu = meter.stop();
    const ttfb = percentiles(runs.flatMap((run) => run.ttfb));
    const total = percentiles(runs.flatMap((run) => run.total));
    return {
      rps: median(runs.map((run) => run.rps)),
      rpsRuns: runs.map((run) => run.rps),
      ttfbP50: ttfb.p50,
      ttfbP99: ttfb.p99,
      totalP50: total.p50,
      totalP99: total.p99,
      requests: ttfb.count,
      events: median(runs.flatMap((run) => run.events)),
      failures: runs.reduce((sum, run) => sum + run.failures, 0),
      foreignCpu: cpu.foreignShare,
    };
  } finally {
    await pool.close();
  }

  async function runFor(ms) {
    const ttfb = [];
    const total = [];
    const events = [];
    let failures = 0;
    const started = performance.now();
    const end = started + ms;
    const loop = async () => {
      while (performance.now() < end) {
        const timing = await timeOne(pool, path, headers, body(sequence++)).catch(() => null);
        if (!timing) {
          failures++;
          continue;
        }
        ttfb.push(timing.ttfb);
        total.push(timing.total);
        events.push(timing.events);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    return { ttfb, total, events, failures, rps: total.length / ((performance.now() - started) / 1000) };
  }
}

async function timeOne(pool, path, headers, body) {
  const start = performance.now();
  const response = await pool.request({ path, method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`status ${response.statusCode}`);
  }
  let ttfb;
  let text = "";
  let events = 0;
  response.body.setEncoding("utf8");
  for await (const piece of response.body) {
    text += piece;
    // Count whole events as they complete; keep only the unfinished tail.
    let boundary;
    while ((boundary = text.indexOf("\n\n")) !== -1) {
      const block = text.slice(0, boundary);
      text = text.slice(boundary + 2);
      if (!/^data: /m.test(block)) continue;
      ttfb ??= performance.now() - start;
      events++;
    }
  }
  if (ttfb === undefined) throw new Error("no data event");
  return { ttfb, total: performance.now() - start, events };
}
