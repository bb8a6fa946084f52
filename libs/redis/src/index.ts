export { createRedisConnection, waitForRedis, readEvictionPolicy, type RedisRole } from "./connections.js";
export type { Redis } from "ioredis";
