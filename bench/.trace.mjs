import { randomUUID } from "node:crypto";
import { freePort, startRedisServer } from "@llmgw/testing";
import { request } from "undici";
import { startBenchGateway } from "./lib/gateway.mjs";
import { startMockProcess } from "./lib/processes.mjs";
import { traceOneRequest } from "./lib/redis-commands.mjs";
import { formatTrace } from "./lib/trace-format.mjs";
import { waitForDrain } from "./lib/jobs-throughput.mjs";
const redis = await startRedisServer();
const mock = await startMockProcess();
const key = "k" + randomUUID();
const gw = await startBenchGateway({ redisUrl: redis.url, upstreamUrl: mock.url, prefix: "p" + randomUUID(), clientKey: key, freePort });
const post = async (content, extra = {}) => { const r = await request(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content }], ...extra }) }); return r.body.text(); };
for (let i = 0; i < 300; i++) await post(`warm ${randomUUID()} [[mock:words=5]]`);
for (let i = 0; i < 2; i++) {
  const t = await traceOneRequest(redis.url, () => post(`trace ${randomUUID()} [[mock:words=5]]`), () => waitForDrain(gw.queue));
  console.log(formatTrace(t).join("\n"));
}
if (process.env.STREAM) { const t = await traceOneRequest(redis.url, () => post(`trace ${randomUUID()} [[mock:words=10,chunk_delay=5]]`, { stream: true }), () => waitForDrain(gw.queue)); console.log(formatTrace(t).join("\n")); }
await gw.stop(); await mock.stop(); await redis.destroy();
