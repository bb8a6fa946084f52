import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisConnection, luaScript } from "@llmgw/redis";
import { startRedisServer, type RedisServerHandle } from "@llmgw/testing";

// A server of its own: SCRIPT FLUSH must not pull scripts from under the other test files.
let server: RedisServerHandle;
let admin: Redis;
let pipelined: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
  pipelined = createRedisConnection(server.url, "writer", "lua-script-test");
});
afterAll(async () => {
  admin?.disconnect();
  pipelined?.disconnect();
  await server?.destroy();
});

const echo = luaScript("return {KEYS[1], ARGV[1], #ARGV}");

describe("luaScript", () => {
  it("runs by its SHA, and again after Redis lost its scripts (a restart, SCRIPT FLUSH)", async () => {
    expect(await echo.run(pipelined, 1, ["k", "a", 2])).toEqual(["k", "a", 2]);
    await admin.script("FLUSH");
    expect(await echo.run(pipelined, 1, ["k", "b"])).toEqual(["k", "b", 1]);
    await admin.script("FLUSH");
    expect(await echo.runNow(pipelined, 1, ["k", "c"])).toEqual(["k", "c", 1]);
    expect(await echo.runNow(pipelined, 1, ["k", "d"])).toEqual(["k", "d", 1]);
  });

  it("passes the script's own errors on", async () => {
    const failing = luaScript("return redis.error_reply('ERR the script says no')");
    await expect(failing.run(pipelined, 0, [])).rejects.toThrow("the script says no");
    await expect(failing.runNow(pipelined, 0, [])).rejects.toThrow("the script says no");
  });

  it("defines nothing on the connection: an auto-pipelined batch has no scripts to copy", async () => {
    await echo.run(pipelined, 1, ["k", "e"]);
    expect(Object.keys((pipelined as unknown as { scriptsSet: object }).scriptsSet)).toEqual([]);
  });
});
