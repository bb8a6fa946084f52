import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createStaticAuthenticator, staticKeyId } from "../src/services/client-auth.js";
import { ask, auth } from "./support/jobs-test-api.js";
import { startTestApi, type TestApi } from "./support/test-api.js";

const KEY_A = `gw-static-a-${randomUUID()}`;
const KEY_B = `gw-static-b-${randomUUID()}`;
// Both deployments share one Redis prefix and one database, as one deployment restarted with a new list would.
const shared = {
  REDIS_URL: inject("redisUrl"),
  QUEUE_PREFIX: `test-${randomUUID()}`,
  DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-static-ids-")), "gateway.db"),
  USE_DATABASE_AUTH: "false",
  DEEPSEEK_API_KEY: "sk-never-called",
  DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1",
  CACHE_ENABLED: "false",
  RATE_LIMIT_PER_MINUTE: "5",
};
const opened: TestApi[] = [];
const start = async (apiKeys: string) => {
  const api = await startTestApi({ ...shared, API_KEYS: apiKeys });
  opened.push(api);
  return api;
};

afterAll(async () => {
  for (const api of opened) await api.close();
});

const limits = { perMinute: 60, perHour: 1000 };

describe("a static API_KEYS key's identity", () => {
  it("follows the key, not its place in the list, and never holds the key", async () => {
    const [first, second] = await Promise.all([
      createStaticAuthenticator([KEY_A, KEY_B], limits).authenticate(KEY_B),
      createStaticAuthenticator([KEY_B], limits).authenticate(KEY_B),
    ]);
    expect(first?.keyId).toBe(second?.keyId);
    expect(first?.keyId).toBe(staticKeyId(KEY_B));
    expect(staticKeyId(KEY_B)).toMatch(/^static-[0-9a-f]{16}$/);
    expect(staticKeyId(KEY_A)).not.toBe(staticKeyId(KEY_B));
    expect(staticKeyId(KEY_B)).not.toContain(KEY_B);
    // Not the key's plain SHA-256 either (what a stored hash or a comparison digest would be): a prefix of its own.
    expect(createHash("sha256").update(KEY_B).digest("hex")).not.toContain(staticKeyId(KEY_B).slice("static-".length));
  });

  it("survives removing another key from API_KEYS: b keeps its job and its limits, and never gets a's", async () => {
    const before = await start(`${KEY_A},${KEY_B}`);
    const submit = (api: TestApi, key: string, text: string) =>
      api.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(key), payload: { request: ask(text) } });
    const jobOfB = await submit(before, KEY_B, "b's question");
    expect(jobOfB.statusCode).toBe(202);
    expect(jobOfB.headers["x-ratelimit-remaining-requests"]).toBe("4");
    const jobOfA = await submit(before, KEY_A, "a's question");
    expect(jobOfA.statusCode).toBe(202);

    // The operator removes key a: b moves from second place to first.
    const after = await start(KEY_B);
    const read = await after.app.inject({ url: `/v1/jobs/${jobOfB.json().id}`, headers: auth(KEY_B) });
    expect([read.statusCode, read.json().id]).toEqual([200, jobOfB.json().id]);
    // Its minute window carries over: one request already counted, this one makes two.
    const again = await submit(after, KEY_B, "b again");
    expect(again.headers["x-ratelimit-remaining-requests"]).toBe("3");
    // What was a's stays a's: b does not inherit it (with positions, b would now be "static-1", a's old id).
    const stolen = await after.app.inject({ url: `/v1/jobs/${jobOfA.json().id}`, headers: auth(KEY_B) });
    expect(stolen.statusCode).toBe(404);
    const listed = (await after.app.inject({ url: "/v1/jobs", headers: auth(KEY_B) })).json();
    expect(listed.data.map((job: { id: string }) => job.id).sort()).toEqual([jobOfB.json().id, again.json().id].sort());
    // And a, removed, is refused.
    expect((await after.app.inject({ url: "/v1/jobs", headers: auth(KEY_A) })).statusCode).toBe(401);
  });
});
