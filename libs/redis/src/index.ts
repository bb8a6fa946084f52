export { createRedisConnection, waitForRedis, readEvictionPolicy, type RedisRole } from "./connections.js";
export type { Redis } from "ioredis";
export { luaScript, type LuaScript, type ScriptArgument } from "./lua-script.js";
