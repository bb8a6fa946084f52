import { startRedisServer } from "@llmgw/testing";
import { Redis } from "ioredis";
import { percentiles } from "./lib/stats.mjs";
const s = await startRedisServer(); const r = new Redis(s.url);
const t = [];
for (let i = 0; i < 5000; i++) { const a = performance.now(); await r.get("x"); t.push((performance.now() - a) * 1000); }
console.log("GET round trip µs", percentiles(t.slice(1000)));
r.disconnect(); await s.destroy();
