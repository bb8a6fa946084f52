// What a cache hit adds over calling the upstream directly: p50/p99 of sequential requests,
// the same request to the mock upstream and to the gateway (a cache hit after the first call),
// interleaved in one run so both see the same machine. Runs the built code (`npx tsc -b` first);
// starts its own redis-server, mock upstream, API and worker on loopback.
//   node bench/cache-hit-latency.mjs        REQUESTS=500 WARMUP=100 to change the counts
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { freePort, spawnApp, startMockUpstream, startRedisServer } from "../libs/testing/dist/index.js";

const requests = Number(process.env.REQUESTS ?? 500);
const warmup = Number(process.env.WARMUP ?? 100);
const adminToken = `bench-admin-${randomUUID()}`;
const providerKey = "sk-bench-provider";
const folder = mkdtempSync(join(tmpdir(), "llmgw-bench-cache-"));
// One keep-alive connection per origin, as a client making sequential calls would have.
const agent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

async function post(url, headers, body) {
  const response = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${text}`);
  return response.headers;
}

const percentile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const summary = (micros) => {
  const sorted = [...micros].sort((a, b) => a - b);
  return { p50_us: Math.round(percentile(sorted, 0.5)), p99_us: Math.round(percentile(sorted, 0.99)) };
};

/** Resolves once the API answers /healthz (at LOG_LEVEL=warn it prints no "listening" line). */
async function waitForHealth(url, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await request(`${url}/healthz`).then((response) => response.body.dump().then(() => response.statusCode), () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the API did not answer /healthz within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const redis = await startRedisServer();
const mock = await startMockUpstream({ recordCalls: false });
const processes = [];
try {
  const port = await freePort();
  const env = {
    HOST: "127.0.0.1",
    PORT: String(port),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `bench-${randomUUID()}`,
    DATABASE_PATH: join(folder, "gateway.db"),
    ADMIN_TOKEN: adminToken,
    DEEPSEEK_API_KEY: providerKey,
    DEEPSEEK_BASE_URL: mock.url,
    RATE_LIMIT_PER_MINUTE: "1000000000",
    RATE_LIMIT_PER_HOUR: "1000000000",
    // As a production API runs: no line per request on stdout.
    LOG_LEVEL: "warn",
    WORKER_METRICS_PORT: "0",
  };
  processes.push(spawnApp("api", env), spawnApp("worker", env));
  const gateway = { url: `http://127.0.0.1:${port}` };
  await waitForHealth(gateway.url);
  const admin = { authorization: `Bearer ${adminToken}` };
  const adminPost = async (path, body) => {
    const response = await request(`${gateway.url}/api/v1/admin${path}`, {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return response.body.json();
  };
  const user = await adminPost("/users", { username: "bench", email: "bench@example.com" });
  const { api_key: clientKey } = await adminPost("/api-keys", { user_id: user.id, key_name: "bench" });

  const body = { model: "deepseek-chat", messages: [{ role: "user", content: "What does a cache hit cost?" }] };
  const direct = () => post(`${mock.url}/chat/completions`, { authorization: `Bearer ${providerKey}` }, body);
  const viaGateway = () => post(`${gateway.url}/v1/chat/completions`, { "x-api-key": clientKey }, body);

  // The first gateway call is a miss that stores the answer; wait until it is served from the cache.
  let cache = null;
  for (let tries = 0; cache !== "HIT" && tries < 100; tries++) cache = (await viaGateway())["x-cache"];
  if (cache !== "HIT") throw new Error("the gateway never answered from its cache");

  for (let index = 0; index < warmup; index++) {
    await direct();
    await viaGateway();
  }
  const samples = { direct: [], cacheHit: [] };
  const time = async (fn, into) => {
    const start = process.hrtime.bigint();
    const headers = await fn();
    into.push(Number(process.hrtime.bigint() - start) / 1000);
    return headers;
  };
  for (let index = 0; index < requests; index++) {
    await time(direct, samples.direct);
    const headers = await time(viaGateway, samples.cacheHit);
    if (headers["x-cache"] !== "HIT") throw new Error(`request ${index} was a ${headers["x-cache"]}, not a HIT`);
  }

  const result = {
    requests,
    direct: summary(samples.direct),
    cache_hit: summary(samples.cacheHit),
  };
  result.added_p50_us = result.cache_hit.p50_us - result.direct.p50_us;
  result.added_p99_us = result.cache_hit.p99_us - result.direct.p99_us;
  console.log(
    `sequential, loopback, ${requests} requests each: upstream direct p50 ${result.direct.p50_us} µs (p99 ${result.direct.p99_us}); ` +
      `gateway cache hit p50 ${result.cache_hit.p50_us} µs (p99 ${result.cache_hit.p99_us}); ` +
      `a hit adds ${result.added_p50_us} µs at p50 (${result.added_p99_us} µs at p99)`,
  );
  console.log(JSON.stringify(result));
} finally {
  await Promise.all(processes.map((child) => child.stop()));
  await mock.close();
  await redis.destroy();
  await agent.close();
  rmSync(folder, { recursive: true, force: true });
}
