// GET /api/v1/admin/stats on PostgreSQL with a large usage log (1 million rows by default): fills a
// throwaway PostgreSQL (initdb into a temp folder, a private server on a free port, as the tests start
// theirs) through the store's own batch INSERT, then times the route on a built API process, and, for
// comparison, the same figures computed by scanning the log. Runs the built code (`npx tsc -b` first).
//   node bench/admin-stats-postgres.mjs        ROWS=1000000 BATCH=5000 REQUESTS=50 to change the counts
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { request } from "undici";
import { freePort, spawnApp, startPostgresServer, startRedisServer } from "../libs/testing/dist/index.js";
import { openPostgresStore } from "../libs/store/dist/index.js";

const rows = Number(process.env.ROWS ?? 1_000_000);
const batch = Number(process.env.BATCH ?? 5000);
const requests = Number(process.env.REQUESTS ?? 50);
const keys = 200;
const models = ["deepseek-chat", "deepseek-reasoner", "gpt-4o", "gpt-4o-mini", "o3"];
const statuses = [200, 200, 200, 200, 200, 200, 429, 499, 502];
const adminToken = `bench-admin-${randomUUID()}`;
const log = (message) => console.error(`[bench] ${message}`);

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const summary = (ms) => {
  const sorted = [...ms].sort((a, b) => a - b);
  const round = (value) => Math.round(value * 10) / 10;
  return { p50_ms: round(percentile(sorted, 0.5)), p99_ms: round(percentile(sorted, 0.99)), max_ms: round(sorted.at(-1)) };
};

async function timed(action, times) {
  const samples = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await action();
    samples.push(performance.now() - started);
  }
  return summary(samples);
}

async function waitForHealth(url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await request(`${url}/readyz`).then((response) => response.body.dump().then(() => response.statusCode), () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the API was not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const [postgres, redis] = await Promise.all([startPostgresServer(), startRedisServer()]);
let api;
let store;
try {
  const databaseUrl = await postgres.createDatabase("bench_stats");
  store = await openPostgresStore(databaseUrl);
  const user = await store.users.create({ username: "bench", email: "bench@example.com" });
  for (let i = 0; i < keys; i++) await store.apiKeys.create({ user_id: user.id, key_name: `key-${i}` });

  log(`filling ${rows} usage rows in batches of ${batch} (the store's batch INSERT, as the usage drain writes)`);
  const started = Date.now();
  const now = Date.now();
  for (let written = 0; written < rows; written += batch) {
    const entries = [];
    for (let n = written; n < Math.min(rows, written + batch); n++) {
      const key = (n % (keys + 1)) + 1; // one id in 201 is not a database key: it stands for a static key
      entries.push({
        keyId: key > keys ? "static-bench" : String(key),
        userId: key > keys ? null : String(user.id),
        model: models[n % models.length],
        provider: "bench",
        promptTokens: 10 + (n % 50),
        completionTokens: 20 + (n % 100),
        latencyMs: 100 + (n % 400),
        status: statuses[n % statuses.length],
        cacheHit: n % 10 === 0,
        jobId: n % 10 === 0 ? null : `job_${n}`,
        requestId: `req_${n}`,
        kind: n % 10 === 0 ? "cache" : "job",
        createdAt: now - (rows - n) * 10,
      });
    }
    await store.usage.recordAll(entries);
  }
  const fillSeconds = (Date.now() - started) / 1000;
  log(`filled in ${fillSeconds.toFixed(1)} s (${Math.round(rows / fillSeconds)} rows/s)`);
  await store.pool.query("VACUUM ANALYZE");

  const port = await freePort();
  api = spawnApp("api", {
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: `bench-${randomUUID()}`,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: "warn",
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url);
  const getStats = async () => {
    const response = await request(`${url}/api/v1/admin/stats`, { headers: { authorization: `Bearer ${adminToken}` } });
    const body = await response.body.json();
    if (response.statusCode !== 200) throw new Error(`stats answered ${response.statusCode}: ${JSON.stringify(body)}`);
    return body;
  };
  const body = await getStats();
  if (body.requests !== rows) throw new Error(`stats count ${body.requests} requests, expected ${rows}`);
  await timed(getStats, 5); // warm-up: connections, plans
  const route = await timed(getStats, requests);
  const storeStats = await timed(() => store.usage.stats(), requests);
  // What the stats would cost computed from the log itself (one scan, every grouping at once).
  const scan = await timed(
    () =>
      store.pool.query(`SELECT status, model, key_id, count(*), sum(prompt_tokens), sum(completion_tokens), count(*) FILTER (WHERE cache_hit)
        FROM usage_log GROUP BY GROUPING SETS ((), (status), (model), (key_id))`),
    Math.min(requests, 10),
  );
  const result = {
    rows,
    keys,
    models: models.length,
    fill: { seconds: Number(fillSeconds.toFixed(1)), rows_per_second: Math.round(rows / fillSeconds), batch },
    get_admin_stats: route,
    store_stats: storeStats,
    log_scan_for_comparison: scan,
    requests,
    at: new Date().toISOString(),
  };
  console.log(`usage rows: ${rows} (${keys} keys + a static one, ${models.length} models)`);
  console.log(`fill through recordAll: ${result.fill.seconds} s, ${result.fill.rows_per_second} rows/s (batches of ${batch})`);
  console.log(`GET /api/v1/admin/stats (HTTP, ${requests} sequential): p50 ${route.p50_ms} ms, p99 ${route.p99_ms} ms, max ${route.max_ms} ms`);
  console.log(`usage.stats() in process:             p50 ${storeStats.p50_ms} ms, p99 ${storeStats.p99_ms} ms, max ${storeStats.max_ms} ms`);
  console.log(`for comparison, scanning the log:       p50 ${scan.p50_ms} ms, p99 ${scan.p99_ms} ms, max ${scan.max_ms} ms`);
  writeFileSync(new URL("results/admin-stats-postgres.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await api?.stop();
  await store?.close();
  await Promise.all([postgres.stop(), redis.destroy()]);
}
