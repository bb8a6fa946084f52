// What one rate-limit check costs: median and p99 of sequential checks on loopback against a
// private redis-server. Runs the built dist (`npx tsc -b` first), which also proves that
// dist/services finds ../../lua/rate-limit.lua.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { startRedisServer } from "../libs/testing/dist/index.js";
import { createRateLimiter } from "../apps/api/dist/services/rate-limiter.js";

const checks = Number(process.env.CHECKS ?? 2000);
const warmup = 200;
const server = await startRedisServer();
const redis = new Redis(server.url);
try {
  const limiter = createRateLimiter({ redis, prefix: `bench-${randomUUID()}` });
  // Limits high enough that every check is admitted: the log grows as it would for a busy key.
  const limits = { perMinute: 1_000_000, perHour: 1_000_000 };
  for (let index = 0; index < warmup; index += 1) await limiter.check("warmup", limits);

  const micros = [];
  for (let index = 0; index < checks; index += 1) {
    const start = process.hrtime.bigint();
    await limiter.check("bench-key", limits);
    micros.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  micros.sort((a, b) => a - b);
  const at = (q) => micros[Math.min(micros.length - 1, Math.floor(q * micros.length))];
  const result = { checks, p50_us: Math.round(at(0.5)), p99_us: Math.round(at(0.99)), max_us: Math.round(at(1)) };
  console.log(`rate-limit check (sequential, loopback): p50 ${result.p50_us} µs, p99 ${result.p99_us} µs over ${checks} checks`);
  console.log(JSON.stringify(result));
} finally {
  redis.disconnect();
  await server.destroy();
}
