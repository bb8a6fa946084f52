// quick bench for iteration (not committed)
import autocannon from "autocannon";
import { startGateway, startMockUpstream, startRedisServer } from "@llmgw/testing";
const redis = await startRedisServer(); const mock = await startMockUpstream({ recordCalls: false });
const g = await startGateway({ workers: Number(process.env.W ?? 1), env: { REDIS_URL: redis.url, USE_DATABASE_AUTH: "false", API_KEYS: "k", DEEPSEEK_API_KEY: "x", DEEPSEEK_BASE_URL: mock.url, RATE_LIMIT_PER_MINUTE: "1000000000", RATE_LIMIT_PER_HOUR: "1000000000", LOG_LEVEL: "info" } });
const body = (i) => JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `hello number ${i}` }] });
const headers = { authorization: "Bearer k", "content-type": "application/json", "cache-control": "no-cache" };
for (let i = 0; i < 100; i++) await (await fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers, body: body(i) })).text();
const times = [];
for (let i = 0; i < 400; i++) { const t = performance.now(); await (await fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers, body: body(i) })).text(); times.push(performance.now() - t); }
times.sort((a, b) => a - b); console.log("c=1 p50", times[200].toFixed(2), "p90", times[360].toFixed(2));
const dt = []; for (let i = 0; i < 400; i++) { const t = performance.now(); await (await fetch(`${mock.url}/chat/completions`, { method: "POST", headers: { authorization: "Bearer x", "content-type": "application/json" }, body: body(i) })).text(); dt.push(performance.now() - t); }
dt.sort((a, b) => a - b); console.log("direct p50", dt[200].toFixed(2));
let n = 0; const r = await autocannon({ url: `${g.url}/v1/chat/completions`, method: "POST", headers, connections: 16, duration: 4, requests: [{ setupRequest: (req) => ({ ...req, body: body(n++) }) }] });
console.log("c=16 rps", r.requests.average, "p50", r.latency.p50, "non2xx", r.non2xx);
await g.stop(); await mock.close(); await redis.destroy();
