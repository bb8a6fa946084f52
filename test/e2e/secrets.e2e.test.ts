import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { GatewayStack, MockUpstream } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// An error storm, then a search of everything the gateway wrote or said for the keys.
const ADMIN_TOKEN = `admin-${randomUUID()}`;

let stack: MockedGateway;
let mock: MockUpstream;
let gateway: GatewayStack;
let redis: Redis;
let prefix: string;
let PROVIDER_KEY: string;
let clientKey: string;
const seen: string[] = [];

beforeAll(async () => {
  // Keys from SQLite, made over the admin API, as in production.
  stack = await startMockedGateway({
    env: { ADMIN_TOKEN, USE_DATABASE_AUTH: "true", RATE_LIMIT_PER_MINUTE: "15", JOB_ATTEMPTS: "2", LOG_LEVEL: "trace" },
  });
  ({ mock, gateway, prefix, providerKey: PROVIDER_KEY } = stack);
  redis = new Redis(inject("redisUrl"));
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  const user = (await (await fetch(`${gateway.url}/api/v1/admin/users`, { method: "POST", headers: admin, body: JSON.stringify({ username: "storm", email: "storm@example.com" }) })).json()) as { id: number };
  const key = (await (await fetch(`${gateway.url}/api/v1/admin/api-keys`, { method: "POST", headers: admin, body: JSON.stringify({ user_id: user.id, key_name: "storm" }) })).json()) as { api_key: string };
  clientKey = key.api_key;
  expect(clientKey).toMatch(/^gw-/);
});

afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
});

/** Sends a request and keeps everything the gateway answered: status line, headers, body. */
async function call(path: string, init: RequestInit) {
  const response = await fetch(`${gateway.url}${path}`, init);
  const text = await response.text();
  seen.push(`${response.status} ${JSON.stringify([...response.headers])} ${text}`);
  return response;
}

const completion = (key: string, content: string, extra: Record<string, unknown> = {}) =>
  call("/v1/chat/completions", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content }], ...extra }),
  });

/** Every key and value under the test's prefix, whatever its type. */
async function dumpRedis(): Promise<string[]> {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      out.push(key);
      if (type === "string") out.push((await redis.get(key)) ?? "");
      if (type === "hash") out.push(JSON.stringify(await redis.hgetall(key)));
      if (type === "list") out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      if (type === "set") out.push(JSON.stringify(await redis.smembers(key)));
      if (type === "zset") out.push(JSON.stringify(await redis.zrange(key, 0, "-1")));
      if (type === "stream") out.push(JSON.stringify(await redis.xrange(key, "-", "+")));
    }
  } while (cursor !== "0");
  return out;
}

describe("keys never leak", () => {
  it("after an error storm, no log line, Redis key or value, response or metric holds a client or provider key", { timeout: 60_000 }, async () => {
    const wrongKey = `gw-${randomUUID().replace(/-/g, "")}wrong`;
    await Promise.all([
      completion(clientKey, "fine"),
      completion(clientKey, "fine, streamed", { stream: true }),
      completion(wrongKey, "wrong key"),
      completion(clientKey, `upstream refuses ${randomUUID()} [[mock:status=401,error_body=echo_key]]`),
      completion(clientKey, `upstream breaks ${randomUUID()} [[mock:status=500,error_body=echo_key]]`),
      completion(clientKey, `upstream breaks mid-stream ${randomUUID()} [[mock:stream_error_after=2]]`, { stream: true }),
      completion(clientKey, "bad params", { temperature: "hot" }),
      completion(clientKey, "unknown model", { model: "nope" }),
      call("/v1/chat/completions", { method: "POST", headers: { "x-api-key": clientKey, "content-type": "application/json" }, body: "{not json" }),
    ]);
    // Then past the rate limit.
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await completion(clientKey, `burst ${i}`)).status);
    expect(statuses).toContain(429);
    // The storm really reached the upstream with the provider key.
    expect(mock.calls.some((c) => c.headers.authorization === `Bearer ${PROVIDER_KEY}`)).toBe(true);

    const apiMetrics = await call("/metrics", {});
    expect(apiMetrics.status).toBe(200);
    const workerPort = /"metricsPort":(\d+)/.exec(await gateway.workers[0].waitForLine(/metricsPort/))?.[1];
    const workerMetrics = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text();

    const places: [string, string[]][] = [
      ["log lines", [gateway.api, ...gateway.workers].flatMap((process) => process.lines)],
      ["redis", await dumpRedis()],
      ["responses", seen],
      ["worker metrics", [workerMetrics]],
    ];
    for (const [place, texts] of places) {
      expect(texts.length, place).toBeGreaterThan(0);
      for (const text of texts) {
        expect(text, place).not.toContain(clientKey);
        expect(text, place).not.toContain(wrongKey);
        expect(text, place).not.toContain(PROVIDER_KEY);
        expect(text, place).not.toContain(ADMIN_TOKEN);
      }
    }
  });
});
