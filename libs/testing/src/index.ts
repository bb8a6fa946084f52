export { startRedisServer, freePort, type RedisServerHandle } from "./redis-server.js";
