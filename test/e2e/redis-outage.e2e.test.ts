import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, spawnApp, startRedisServer, type GatewayStack, type RedisServerHandle } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";
import type { ErrorBody } from "./support/json-bodies.js";

// A Redis of this test's own, stopped, restarted on the same port, and frozen.
let redis: RedisServerHandle;
let stack: MockedGateway;
let gateway: GatewayStack;
let CLIENT_KEY: string;

beforeAll(async () => {
  redis = await startRedisServer();
  stack = await startMockedGateway({ env: { REDIS_URL: redis.url, CACHE_ENABLED: "false" } });
  ({ gateway, clientKey: CLIENT_KEY } = stack);
});

afterAll(async () => {
  await stack?.stop();
  await redis?.destroy();
});

const complete = () => stack.complete({ model: "deepseek-chat", messages: [{ role: "user", content: `hello ${randomUUID()}` }] });

async function timed(request: () => Promise<Response>) {
  const started = performance.now();
  const response = await request();
  return { response, ms: performance.now() - started, body: (await response.json()) as ErrorBody };
}

async function untilServed() {
  for (;;) {
    const response = await complete();
    if (response.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("while Redis is away", () => {
  it("serves before the outage", async () => {
    expect((await complete()).status).toBe(200);
  });

  it("answers 503 within 2 s when Redis is stopped, says not ready, stays alive, and recovers without a restart", { timeout: 30_000 }, async () => {
    await redis.stop();
    const refused = await timed(complete);
    expect(refused.response.status).toBe(503);
    expect(refused.ms).toBeLessThan(2000);
    expect(refused.body.error).toMatchObject({ code: "service_unavailable", type: "server_error" });
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);

    await redis.start();
    await untilServed();
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
  });

  it("answers 503 within 2 s when Redis is frozen, and recovers when it thaws", { timeout: 30_000 }, async () => {
    redis.pause();
    try {
      const refused = await timed(complete);
      expect(refused.response.status).toBe(503);
      expect(refused.ms).toBeLessThan(2000);
      const ready = await timed(() => fetch(`${gateway.url}/readyz`));
      expect(ready.response.status).toBe(503);
      expect(ready.ms).toBeLessThan(2000);
    } finally {
      redis.resume();
    }
    await untilServed();
  });

  // Starting a process on a loaded machine (the whole suite in parallel) takes seconds of its own: the
  // start and the stop are the hooks' (60 s), so the test's 30 s measure only the gateway's behaviour.
  describe("an API process started while Redis is down", () => {
    let late: ReturnType<typeof spawnApp>;
    let port = 0;
    beforeAll(async () => {
      await redis.stop();
      port = await freePort();
      late = spawnApp("api", { ...gateway.env, PORT: String(port) }, "late-api");
      await late.waitForLine(/Server listening/);
    });
    afterAll(async () => {
      await late?.stop();
    });

    it("starts without Redis, answers 503 meanwhile, and serves once Redis comes", { timeout: 30_000 }, async () => {
      expect(late.lines.join("\n")).toContain("is not reachable; answering 503 until it is");
      const refused = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
      expect(refused.status).toBe(503);
      await redis.start();
      for (;;) {
        const response = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
        if (response.status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });
  });
});

describe("a queue Redis that may evict keys", () => {
  it("makes both processes warn loudly at start-up", { timeout: 30_000 }, async () => {
    const evicting = await startRedisServer({ extraArgs: ["--maxmemory-policy", "allkeys-lru"] });
    const lru = await startMockedGateway({ env: { REDIS_URL: evicting.url } });
    try {
      const warning = /maxmemory-policy is \\"allkeys-lru\\": queued jobs can be evicted and lost; set it to noeviction/;
      await lru.gateway.api.waitForLine(warning);
      await lru.gateway.workers[0].waitForLine(warning);
    } finally {
      await lru.stop();
      await evicting.destroy();
    }
  });
});
