import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobKeys } from "@llmgw/jobs";
import { hashApiKey } from "@llmgw/store";
import type { MockUpstream } from "@llmgw/testing";
import { startTwoApiInstances, type TwoApiInstances } from "./support/two-api-instances.js";
import { completionOf, errorOf } from "./support/json-bodies.js";

// Issue 3's "must show": two API processes and a worker, built, sharing one Redis and one SQLite
// file; users and keys made over the admin API; the mock upstream counts every provider call.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const prefix = `guard-${randomUUID()}`;

let mock: MockUpstream;
let instances: [string, string];
let redis: Redis;
let databasePath: string;
let stack: TwoApiInstances;
/** Every client key this file created, for the check that none reaches the SQLite file in clear. */
const createdKeys: string[] = [];

beforeAll(async () => {
  stack = await startTwoApiInstances({
    prefix,
    adminToken: ADMIN_TOKEN,
    env: { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_PER_MINUTE: "100000", RATE_LIMIT_PER_HOUR: "1000000", CACHE_ENABLED: "true" },
  });
  ({ mock, instances, redis, databasePath } = stack);
});

afterAll(() => stack?.stop());

const [A, B] = [0, 1] as const;

/**
 * An admin call; its JSON answer is read as the loose record the tests pick fields from. Like many
 * HTTP clients it says `Content-Type: application/json` on every request, bodiless GET and DELETE too.
 */
async function adminCall(method: string, path: string, body?: unknown, instance: 0 | 1 = A) {
  const response = await fetch(`${instances[instance]}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** A user of its own and a key with these limits, made over HTTP as an operator would. */
async function newKey(limits: { rate_limit_per_minute?: number; rate_limit_per_hour?: number } = {}) {
  const name = `user-${randomUUID()}`;
  const user = await adminCall("POST", "/users", { username: name, email: `${name}@example.com` });
  expect(user.status).toBe(201);
  const key = await adminCall("POST", "/api-keys", { user_id: user.body.id, key_name: "e2e", ...limits });
  expect(key.status).toBe(201);
  createdKeys.push(key.body.api_key);
  return { keyId: key.body.id as number, apiKey: key.body.api_key as string };
}

function complete(instance: number, apiKey: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${instances[instance]}/v1/chat/completions`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const ask = (content: string) => ({ model: "deepseek-chat", messages: [{ role: "user", content }] });
const callsWith = (tag: string) => mock.calls.filter((call) => JSON.stringify(call.body).includes(tag)).length;

/** Polls `read` until `done` accepts its value or `timeoutMs` passes (then fails with the last value). */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Resolves once every usage entry the workers appended so far has been written to SQLite. */
async function usageDrained() {
  const key = jobKeys(prefix).usage;
  await pollUntil(
    async () => {
      // XINFO GROUPS answers each group as a flat [name, value, name, value, …] list.
      const groups = (await redis.xinfo("GROUPS", key)) as unknown[][];
      const asObject = (flat: unknown[]) => Object.fromEntries(flat.flatMap((value, i) => (i % 2 === 0 ? [[value, flat[i + 1]]] : [])));
      return groups.map(asObject).find((group) => group.name === "api") ?? {};
    },
    (group) => group.pending === 0 && group.lag === 0,
    5000,
    "usage stream drained",
  );
}

const stats = async () => (await adminCall("GET", "/stats")).body;
const keyStats = async (keyId: number) =>
  ((await stats()).per_key as { key_id: number | string; requests: number; prompt_tokens: number; completion_tokens: number }[]).find(
    (row) => row.key_id === keyId,
  ) ?? { requests: 0, prompt_tokens: 0, completion_tokens: 0 };

/** Waits for `requests` usage rows of the key, then for the drain to settle, and returns the final figures. */
async function settledKeyStats(keyId: number, requests: number) {
  await pollUntil(() => keyStats(keyId), (row) => row.requests >= requests, 10_000, `usage rows of ${keyId}`);
  await usageDrained();
  return keyStats(keyId);
}

/** `count` requests at once, alternating between the two instances, each with its own text. */
async function burst(apiKey: string, count: number, tag: string) {
  const responses = await Promise.all(
    Array.from({ length: count }, (_, i) => complete(i % 2, apiKey, ask(`${tag} #${i}`)).then(async (response) => ({
      instance: i % 2,
      status: response.status,
      headers: response.headers,
      // A completion or a 429's error: read as the loose record the tests pick fields from.
      body: (await response.json()) as Record<string, any>,
    }))),
  );
  return {
    ok: responses.filter((response) => response.status === 200),
    limited: responses.filter((response) => response.status === 429),
  };
}

/** `x-ratelimit-reset-requests` as OpenAI writes it ("20ms", "1.5s", "1m0s") in milliseconds; NaN if malformed. */
function resetMs(value: string | null): number {
  const match = /^(?:(\d+)m)?(?:([\d.]+)s|(\d+)ms)$/.exec(value ?? "");
  if (!match) return Number.NaN;
  return Number(match[1] ?? 0) * 60_000 + Number(match[2] ?? 0) * 1000 + Number(match[3] ?? 0);
}

const rateLimitBody = (limit: number, window: string, retryAfter: string) => ({
  error: {
    message: `Rate limit reached: ${limit} requests per ${window} for this API key. Try again in ${retryAfter} s.`,
    type: "rate_limit_error",
    param: null,
    code: "rate_limit_exceeded",
  },
});

describe("rate limits: exact under a burst split across two API instances", () => {
  it("admits exactly 12 of 40 concurrent requests on a 12/minute key; the other 28 get 429 with Retry-After", async () => {
    const { keyId, apiKey } = await newKey({ rate_limit_per_minute: 12, rate_limit_per_hour: 1000 });
    const tag = randomUUID();
    const { ok, limited } = await burst(apiKey, 40, tag);
    expect(ok).toHaveLength(12);
    expect(limited).toHaveLength(28);

    // Each success consumed one slot of the binding minute window: remaining 11, 10, …, 0 exactly once.
    for (const response of ok) {
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("12");
      const reset = resetMs(response.headers.get("x-ratelimit-reset-requests"));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(60_000);
      expect(response.body.choices[0].message.content).toContain(tag);
    }
    const remaining = ok.map((response) => Number(response.headers.get("x-ratelimit-remaining-requests")));
    expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

    for (const response of limited) {
      const retryAfter = response.headers.get("retry-after")!;
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      expect(response.body).toEqual(rateLimitBody(12, "minute", retryAfter));
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("12");
      expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    }
    // Both instances took part in the refusals and the successes' order was decided in Redis alone.
    expect(new Set(limited.map((response) => response.instance))).toEqual(new Set([A, B]));
    expect(callsWith(tag)).toBe(12);
    // Only admitted requests reach the usage log.
    expect((await settledKeyStats(keyId, 12)).requests).toBe(12);
  });

  it("does the same for the hour window: 12 of 40 on a 12/hour key, Retry-After up to an hour", async () => {
    const { apiKey } = await newKey({ rate_limit_per_minute: 1000, rate_limit_per_hour: 12 });
    const tag = randomUUID();
    const { ok, limited } = await burst(apiKey, 40, tag);
    expect(ok).toHaveLength(12);
    expect(limited).toHaveLength(28);
    const remaining = ok.map((response) => Number(response.headers.get("x-ratelimit-remaining-requests")));
    expect(remaining.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(ok.every((response) => response.headers.get("x-ratelimit-limit-requests") === "12")).toBe(true);
    for (const response of limited) {
      const retryAfter = response.headers.get("retry-after")!;
      expect(Number(retryAfter)).toBeGreaterThan(3500);
      expect(Number(retryAfter)).toBeLessThanOrEqual(3600);
      expect(response.body).toEqual(rateLimitBody(12, "hour", retryAfter));
    }
    expect(callsWith(tag)).toBe(12);
  });

  it("a refused request uses up no quota", async () => {
    // 12/minute and 20/hour: if the 28 refusals had been counted, the hour window would be full
    // (40 >= 20) and the next refusal would name it, with a Retry-After of about an hour.
    const { apiKey } = await newKey({ rate_limit_per_minute: 12, rate_limit_per_hour: 20 });
    const { ok, limited } = await burst(apiKey, 40, randomUUID());
    expect([ok.length, limited.length]).toEqual([12, 28]);
    for (const instance of [A, B]) {
      const response = await complete(instance, apiKey, ask(randomUUID()));
      expect(response.status).toBe(429);
      const retryAfter = response.headers.get("retry-after")!;
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      expect(await response.json()).toEqual(rateLimitBody(12, "minute", retryAfter));
    }
  });
});

describe("keys: revocation across instances", () => {
  it("refuses a deleted key on both instances within 5 s", async () => {
    const { keyId, apiKey } = await newKey();
    const models = (instance: number) => fetch(`${instances[instance]}/v1/models`, { headers: { "x-api-key": apiKey } });
    // Both instances have the key in their lookup cache now: only the revocation can drop it.
    expect((await models(A)).status).toBe(200);
    expect((await models(B)).status).toBe(200);

    const started = Date.now();
    const deleted = await adminCall("DELETE", `/api-keys/${keyId}`);
    expect(deleted).toEqual({ status: 200, body: { id: keyId, object: "api_key", deleted: true } });
    await Promise.all(
      [A, B].map((instance) => pollUntil(() => models(instance).then((r) => r.status), (status) => status === 401, 5000, `401 on instance ${instance}`)),
    );
    // The contract allows 5 s (the lookup cache's TTL is the backstop); the push over Redis makes it
    // near-immediate, and a revocation that only waited for the TTL would take up to the full 5 s.
    expect(Date.now() - started).toBeLessThan(2000);
    const refused = await complete(B, apiKey, ask("after revocation"));
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).code).toBe("invalid_api_key");
  });
});

describe("cache and coalescing across instances", () => {
  it("answers an identical request on the other instance, keys in another order, from the cache", async () => {
    const { keyId, apiKey } = await newKey();
    const tag = randomUUID();
    const first = await complete(A, apiKey, { model: "deepseek-chat", messages: [{ role: "user", content: tag }], temperature: 0.5 });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    const answer = await completionOf(first);
    expect(callsWith(tag)).toBe(1);

    // The same request written differently: top-level and message keys reordered.
    const reordered = `{"temperature":0.5,"messages":[{"content":${JSON.stringify(tag)},"role":"user"}],"model":"deepseek-chat"}`;
    const second = await complete(B, apiKey, reordered);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect(second.headers.get("x-ratelimit-limit-requests")).toBe("100000");
    expect(await second.json()).toEqual(answer);
    expect(callsWith(tag)).toBe(1);

    // A streaming request for the cached answer is replayed as SSE, still without an upstream call;
    // the usage chunk comes only to a client that asked for it.
    const bare = await complete(A, apiKey, { ...JSON.parse(reordered), stream: true });
    expect(bare.headers.get("x-cache")).toBe("HIT");
    const bareChunks = (await bare.text()).split("\n\n").filter((event) => event.startsWith("data: {"));
    expect(bareChunks.map((event) => JSON.parse(event.slice("data: ".length)) as { choices: unknown[] }).every((chunk) => chunk.choices.length > 0)).toBe(true);
    const streamed = await complete(A, apiKey, { ...JSON.parse(reordered), stream: true, stream_options: { include_usage: true } });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("x-cache")).toBe("HIT");
    expect(streamed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await streamed.text()).split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.replace(/^data: /, "")));
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.id === answer.id)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("")).toBe(answer.choices[0].message.content);
    expect(chunks.at(-1).usage).toEqual(answer.usage);
    expect(callsWith(tag)).toBe(1);

    // Usage: the job once (by the worker), each cache hit once (by the API that answered it).
    const row = await settledKeyStats(keyId, 4);
    expect(row).toMatchObject({
      requests: 4,
      prompt_tokens: 4 * answer.usage!.prompt_tokens,
      completion_tokens: 4 * answer.usage!.completion_tokens,
    });
  });

  it("stores the answer before anyone receives it: a repeat sent the moment the answer arrives is a HIT", async () => {
    // Racy by nature: were the cache written after the waiters are told, about 1 repeat in 100 would miss.
    const { apiKey } = await newKey();
    const tags = Array.from({ length: 40 }, () => randomUUID());
    const seen: string[] = [];
    for (const [index, tag] of tags.entries()) {
      expect((await complete(index % 2, apiKey, ask(tag))).headers.get("x-cache")).toBe("MISS");
      seen.push((await complete((index + 1) % 2, apiKey, ask(tag))).headers.get("x-cache") ?? "none");
    }
    expect(seen).toEqual(Array(tags.length).fill("HIT"));
    expect(tags.map(callsWith)).toEqual(Array(tags.length).fill(1));
  });

  it("Cache-Control: no-cache skips the lookup and calls the upstream", async () => {
    const { apiKey } = await newKey();
    const tag = randomUUID();
    expect((await complete(A, apiKey, ask(tag))).headers.get("x-cache")).toBe("MISS");
    await pollUntil(() => complete(B, apiKey, ask(tag)).then((r) => r.headers.get("x-cache")), (cache) => cache === "HIT", 5000, "cached");
    const calls = callsWith(tag);
    const bypass = await complete(B, apiKey, ask(tag), { "cache-control": "no-cache" });
    expect(bypass.status).toBe(200);
    expect(bypass.headers.get("x-cache")).toBe("BYPASS");
    expect(callsWith(tag)).toBe(calls + 1);
  });

  it("Cache-Control: no-store answers but stores nothing", async () => {
    const { keyId, apiKey } = await newKey();
    const tag = randomUUID();
    const first = await complete(A, apiKey, ask(tag), { "cache-control": "no-store" });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    // Once its usage is written the worker is done with the job, cache included: nothing was stored.
    await settledKeyStats(keyId, 1);
    const second = await complete(B, apiKey, ask(tag));
    expect(second.headers.get("x-cache")).toBe("MISS");
    expect(callsWith(tag)).toBe(2);
  });

  it("10 identical concurrent requests on both instances make one upstream call and one usage row", async () => {
    const { keyId, apiKey } = await newKey();
    const tag = randomUUID();
    // Global figures: what earlier tests' requests left in the usage stream, and the cache hits
    // each instance still gathers (a stats call writes its own), must be in them first.
    await usageDrained();
    await adminCall("GET", "/stats", undefined, B);
    const before = await stats();
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => complete(i % 2, apiKey, ask(`${tag} [[mock:delay=1000]]`))),
    );
    const bodies = await Promise.all(responses.map(completionOf));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(responses.map((response) => response.headers.get("x-cache"))).toEqual(Array(10).fill("MISS"));
    expect(new Set(responses.map((response) => response.headers.get("x-job-id"))).size).toBe(1);
    bodies.forEach((body) => expect(body).toEqual(bodies[0]));
    expect(callsWith(tag)).toBe(1);

    // One job, one usage row: the nine callers who joined it caused no upstream work of their own.
    const row = await settledKeyStats(keyId, 1);
    expect(row).toMatchObject({ requests: 1, prompt_tokens: bodies[0].usage!.prompt_tokens, completion_tokens: bodies[0].usage!.completion_tokens });
    const after = await stats();
    expect(after.requests - before.requests).toBe(1);
    expect(after.cache_hits - before.cache_hits).toBe(0);
    expect(after.tokens.completion - before.tokens.completion).toBe(bodies[0].usage!.completion_tokens);
  });
});

describe("the seed's flow, as the README shows it", () => {
  it("create a user, create a key, call /api/v1/chat/completions with X-API-Key", async () => {
    const user = await adminCall("POST", "/users", { username: `readme-${randomUUID()}`, email: "readme@example.com" });
    expect(user.status).toBe(201);
    const key = await adminCall("POST", "/api-keys", { user_id: user.body.id, key_name: "my-app", rate_limit_per_minute: 30 });
    expect(key.status).toBe(201);
    // Integer ids, as in the seed.
    expect([Number.isInteger(user.body.id), key.body.user_id, Number.isInteger(key.body.id)]).toEqual([true, user.body.id, true]);
    createdKeys.push(key.body.api_key);
    const response = await fetch(`${instances[B]}/api/v1/chat/completions`, {
      method: "POST",
      headers: { "x-api-key": key.body.api_key, "content-type": "application/json" },
      body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: "Hello from the README" }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ratelimit-limit-requests")).toBe("30");
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("29");
    expect((await completionOf(response)).choices[0].message.content).toBe("Echo: Hello from the README");
  });
});

describe("secrets at rest", () => {
  it("the SQLite file (and its WAL) holds key hashes, never a key in clear; admin lists show neither", async () => {
    expect(createdKeys.length).toBeGreaterThan(5);
    const files = [databasePath, `${databasePath}-wal`].filter(existsSync);
    const bytes = Buffer.concat(files.map((file) => readFileSync(file)));
    for (const key of createdKeys) {
      expect(bytes.includes(key)).toBe(false);
      // The part after the shown prefix is the secret: not even that may be there.
      expect(bytes.includes(key.slice(10))).toBe(false);
    }
    // The test reads the right bytes: the hashes are there.
    expect(createdKeys.some((key) => bytes.includes(hashApiKey(key)))).toBe(true);

    for (const instance of instances) {
      const list = await (await fetch(`${instance}/api/v1/admin/api-keys?include_revoked=true`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
      expect(JSON.parse(list).data.length).toBe(createdKeys.length);
      for (const key of createdKeys) {
        expect(list).not.toContain(key.slice(10));
        expect(list).not.toContain(hashApiKey(key));
      }
    }
  });
});
