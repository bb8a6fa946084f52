import { randomUUID } from "node:crypto";
import { freePort, startRedisServer } from "@llmgw/testing";
import { Redis } from "ioredis";
import { request } from "undici";
import { startBenchGateway } from "./lib/gateway.mjs";
import { startMockProcess } from "./lib/processes.mjs";
import { percentiles } from "./lib/stats.mjs";
const C = Number(process.env.C ?? 64);
const redis = await startRedisServer();
const mock = await startMockProcess();
const key = "k" + randomUUID();
const prefix = "p" + randomUUID();
const gw = await startBenchGateway({ redisUrl: redis.url, upstreamUrl: mock.url, prefix, clientKey: key, freePort, extraEnv: JSON.parse(process.env.EXTRA ?? "{}") });
const r = new Redis(redis.url);
const ph = { created: [], queued: [], running: [], after: [], total: [] };
let n = 0;
const end = Date.now() + 4000;
async function loop() {
  while (Date.now() < end) {
    const body = JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `x ${randomUUID()} [[mock:words=5]]` }] });
    const s = Date.now(); const sp = performance.now();
    const res = await request(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body });
    await res.body.text();
    const e = Date.now(); const tot = performance.now() - sp;
    const h = await r.hgetall(`${prefix}:job:${res.headers["x-job-id"]}`);
    if (n++ < C) continue;
    ph.created.push(+h.created_at - s); ph.queued.push(+h.started_at - +h.created_at); ph.running.push(+h.completed_at - +h.started_at); ph.after.push(e - +h.completed_at); ph.total.push(tot);
  }
}
await Promise.all(Array.from({ length: C }, loop));
for (const [k, v] of Object.entries(ph)) console.log(k, percentiles(v));
r.disconnect();
await gw.stop(); await mock.stop(); await redis.destroy();
