import { Redis } from "ioredis";
import { startGateway, startMockUpstream, startRedisServer } from "@llmgw/testing";
import { createJobStore } from "@llmgw/jobs";
const redis = await startRedisServer(); const mock = await startMockUpstream({ recordCalls: false });
const g = await startGateway({ workers: 1, env: { REDIS_URL: redis.url, QUEUE_PREFIX: "q", USE_DATABASE_AUTH: "false", API_KEYS: "k", DEEPSEEK_API_KEY: "x", DEEPSEEK_BASE_URL: mock.url, RATE_LIMIT_PER_MINUTE: "1000000000", RATE_LIMIT_PER_HOUR: "1000000000" } });
const store = createJobStore(new Redis(redis.url), { prefix: "q", retentionSeconds: 100 });
const headers = { authorization: "Bearer k", "content-type": "application/json", "cache-control": "no-cache" };
for (let i = 0; i < 60; i++) {
  const t0 = Date.now();
  const res = await fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `hello number ${i}` }] }) });
  await res.text(); const t1 = Date.now();
  if (i >= 55) {
    const id = res.headers.get("x-job-id"); const ev = await store.readEventsAfter(id);
    console.log(`total ${t1 - t0}ms:`, ev.map((e) => `${e.type.slice(4)}@${Number(e.id.split("-")[0]) - t0}`).join(" "), "end@", t1 - t0);
  }
}
await g.stop(); await mock.close(); await redis.destroy(); process.exit(0);
