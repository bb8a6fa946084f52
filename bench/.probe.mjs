import { randomUUID } from "node:crypto";
import { freePort, startRedisServer } from "@llmgw/testing";
import { request } from "undici";
import { startBenchGateway } from "./lib/gateway.mjs";
import { startMockProcess, startReference } from "./lib/processes.mjs";
import { percentiles } from "./lib/stats.mjs";
const redis = await startRedisServer();
const mock = await startMockProcess();
const key = "k" + randomUUID();
const gw = await startBenchGateway({ redisUrl: redis.url, upstreamUrl: mock.url, prefix: "p" + randomUUID(), clientKey: key, freePort, extraEnv: JSON.parse(process.env.EXTRA ?? "{}") });
async function seq(url, headers, n, extra = "") {
  const t = [];
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `x ${randomUUID()} [[mock:words=5]]${extra}` }] });
    const s = performance.now();
    const r = await request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error("status " + r.statusCode);
    t.push(performance.now() - s);
  }
  return percentiles(t.slice(n / 5));
}
console.log("direct", await seq(`${mock.url}/chat/completions`, { authorization: "Bearer x" }, 500));
console.log("gateway", await seq(`${gw.url}/v1/chat/completions`, { authorization: `Bearer ${key}`, "cache-control": "no-cache" }, 500));
console.log("gateway", await seq(`${gw.url}/v1/chat/completions`, { authorization: `Bearer ${key}` }, 500));
await gw.stop(); await mock.stop(); await redis.destroy();
