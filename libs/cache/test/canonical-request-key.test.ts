import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cacheScope, canonicalJson, canonicalRequestKey, coalescingJobId, deliveryOf } from "@llmgw/cache";
import { isJobId } from "@llmgw/jobs";
import type { ChatCompletionRequest } from "@llmgw/providers";

const base: ChatCompletionRequest = {
  model: "deepseek-chat",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Hello" },
  ],
  temperature: 0.2,
  max_tokens: 64,
  response_format: { type: "json_object" },
};
const scope = cacheScope({ userId: "user_1", keyId: "key_1" });

/** The same value with the keys of every object re-inserted in an order derived from `seed`. */
function permuteKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item) => permuteKeys(item, seed));
  if (value === null || typeof value !== "object") return value;
  const rank = (key: string) => createHash("sha256").update(`${seed}:${key}`).digest().readUInt32BE(0);
  const entries = Object.entries(value).sort(([a], [b]) => rank(a) - rank(b));
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(entries.map(([key, item]) => [key, permuteKeys(item, seed + 1)]));
}

describe("canonicalRequestKey", () => {
  it("is a SHA-256 hex digest", () => {
    expect(canonicalRequestKey(base, scope)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("ignores key order at every depth", () => {
    const request = fc.record({
      model: fc.string(),
      messages: fc.array(fc.dictionary(fc.string(), fc.jsonValue()), { maxLength: 4 }),
      temperature: fc.double({ noNaN: true, noDefaultInfinity: true }),
      extra: fc.dictionary(fc.string(), fc.jsonValue()),
    });
    fc.assert(
      fc.property(request, fc.integer(), (value, seed) => {
        const permuted = permuteKeys(value, seed) as ChatCompletionRequest;
        expect(canonicalRequestKey(permuted, scope)).toBe(canonicalRequestKey(value as ChatCompletionRequest, scope));
      }),
    );
  });

  it("writes objects with sorted keys and keeps array order", () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: null, u: undefined, ["__proto__"]: 1 })).toBe(
      '{"__proto__":1,"a":null,"b":[3,{"c":2,"d":1}]}',
    );
  });

  it("separates requests that differ in any parameter, message or message order", () => {
    const variants: ChatCompletionRequest[] = [
      base,
      { ...base, model: "deepseek-reasoner" },
      { ...base, temperature: 0.3 },
      { ...base, temperature: null },
      { ...base, max_tokens: 65 },
      { ...base, top_p: 1 },
      { ...base, seed: 7 },
      { ...base, user: "end-user-1" },
      { ...base, user: "end-user-2" },
      { ...base, response_format: { type: "text" } },
      { ...base, messages: [...base.messages].reverse() },
      { ...base, messages: [{ role: "user", content: "Hello" }] },
      { ...base, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello!" }] },
    ];
    const keys = variants.map((request) => canonicalRequestKey(request, scope));
    expect(new Set(keys).size).toBe(variants.length);
  });

  it("shares one key between a streaming and a JSON request", () => {
    const key = canonicalRequestKey(base, scope);
    expect(canonicalRequestKey({ ...base, stream: true }, scope)).toBe(key);
    expect(canonicalRequestKey({ ...base, stream: false, stream_options: { include_usage: true } }, scope)).toBe(key);
  });

  it("separates scopes", () => {
    const keys = [
      canonicalRequestKey(base, cacheScope({ userId: "user_1", keyId: "key_1" })),
      canonicalRequestKey(base, cacheScope({ userId: "user_2", keyId: "key_1" })),
      canonicalRequestKey(base, cacheScope({ userId: null, keyId: "key_1" })),
      canonicalRequestKey(base, cacheScope({ userId: null, keyId: "key_2" })),
    ];
    expect(new Set(keys).size).toBe(4);
    // Two keys of one user share the user's cache.
    expect(canonicalRequestKey(base, cacheScope({ userId: "user_1", keyId: "key_9" }))).toBe(keys[0]);
  });

  it("scopes by user, or by key when the key has no user", () => {
    expect(cacheScope({ userId: "u1", keyId: "k1" })).toBe("user:u1");
    expect(cacheScope({ userId: null, keyId: "k1" })).toBe("key:k1");
  });
});

describe("coalescingJobId", () => {
  it("is deterministic, a valid job id, and not the cache key itself", () => {
    const key = canonicalRequestKey(base, scope);
    const id = coalescingJobId(key, "json");
    expect(id).toBe(`job_c${createHash("sha256").update(`llmgw-coalesce:${key}:json`).digest("hex").slice(0, 40)}`);
    expect(id).toBe(coalescingJobId(key, "json"));
    expect(isJobId(id)).toBe(true);
    expect(id).not.toContain(key.slice(0, 40));
    expect(coalescingJobId(canonicalRequestKey({ ...base, seed: 1 }, scope), "json")).not.toBe(id);
  });

  it("gives each delivery its own job: a JSON caller, a stream caller and a stream caller asking for usage never share one", () => {
    const key = canonicalRequestKey(base, scope);
    expect(deliveryOf(base)).toBe("json");
    expect(deliveryOf({ ...base, stream: true })).toBe("stream");
    expect(deliveryOf({ ...base, stream: true, stream_options: { include_usage: true } })).toBe("stream+usage");
    expect(new Set((["json", "stream", "stream+usage"] as const).map((delivery) => coalescingJobId(key, delivery))).size).toBe(3);
  });
});
