import { Redis } from "ioredis";
import { startRedisServer } from "@llmgw/testing";
const r = await startRedisServer(); const c = new Redis(r.url);
for (let round = 0; round < 3; round++) { const t = performance.now(); for (let i = 0; i < 2000; i++) await c.ping(); console.log("ping avg ms", ((performance.now() - t) / 2000).toFixed(3)); }
c.disconnect(); await r.destroy();
