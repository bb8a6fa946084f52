import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nestsDeeperThan } from "../src/services/json-depth.js";
import { startTestApi, type TestApi } from "./support/test-api.js";

// Whatever a client sends, the answer is a 4xx in the OpenAI error shape: never a 5xx, never a crash.
// No provider is configured, so a body that passes validation stops at 404 model_not_found.
const KEY = "gw-hostile-input-test-key-0000000000";
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ USE_DATABASE_AUTH: "false", API_KEYS: KEY, MAX_BODY_BYTES: "65536" });
});
afterAll(() => api.close());

const send = (payload: string | Buffer, contentType = "application/json") =>
  api.app.inject({
    method: "POST",
    url: "/v1/chat/completions",
    headers: { authorization: `Bearer ${KEY}`, "content-type": contentType },
    payload,
  });

function expectOpenAIError(response: { statusCode: number; json(): unknown }, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  const body = response.json() as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
  expect(body.error).toHaveProperty("param");
}

const valid = { model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] };

describe("hostile bodies", () => {
  it("refuses a body over the limit with 413", async () => {
    expectOpenAIError(await send(JSON.stringify({ ...valid, pad: "x".repeat(70_000) })), 413, "payload_too_large");
  });

  it("refuses deep nesting with 400 instead of overflowing the stack", async () => {
    const deep = `{"model":"m","messages":[{"role":"user","content":"x"}],"extra":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    const response = await send(deep);
    expectOpenAIError(response, 400, "invalid_request");
    expect(response.json().error.message).toBe("The request body nests deeper than 64 levels.");
  });

  it.each([
    ['{"__proto__":{"admin":true},"model":"m","messages":[]}'],
    ['{"constructor":{"prototype":{"admin":true}},"model":"m","messages":[]}'],
  ])("refuses prototype-pollution keys: %s", async (payload) => {
    expectOpenAIError(await send(payload), 400, "invalid_json");
  });

  it("refuses invalid JSON and an empty body", async () => {
    expectOpenAIError(await send('{"model": "m",'), 400, "invalid_json");
    expectOpenAIError(await send(""), 400, "invalid_json");
  });

  it("refuses a content type it does not read with 415", async () => {
    expectOpenAIError(await send("model=m", "application/x-www-form-urlencoded"), 415, "unsupported_media_type");
    expectOpenAIError(await send("hello", "text/plain"), 415, "unsupported_media_type");
  });

  it.each([
    [{ ...valid, model: 42 }, "model"],
    [{ ...valid, messages: {} }, "messages"],
    [{ ...valid, messages: [] }, "messages"],
    [{ ...valid, messages: [{ content: "no role" }] }, "messages[0].role"],
    [{ ...valid, messages: [{ role: 42, content: "x" }] }, "messages[0].role"],
    [{ ...valid, messages: ["hi"] }, "messages[0]"],
    [{ ...valid, n: 1_000_000 }, "n"],
    [{ ...valid, max_tokens: 1e12 }, "max_tokens"],
    [{ ...valid, max_tokens: 1.5 }, "max_tokens"],
    [{ ...valid, stream: "yes" }, "stream"],
    [{ messages: valid.messages }, "model"],
  ])("names the parameter of a wrong value: %o -> %s", async (body, param) => {
    const response = await send(JSON.stringify(body));
    expectOpenAIError(response, 400, "invalid_request");
    expect(response.json().error.param).toBe(param);
  });

  // The provider decides these (DeepSeek takes 16 stop sequences, OpenAI 4): its own 400 passes through.
  it.each([
    [{ ...valid, stop: Array.from({ length: 16 }, (_, i) => `stop${i}`) }],
    [{ ...valid, temperature: 7 }],
    [{ ...valid, messages: [{ role: "wizard", content: "x" }] }],
    [{ ...valid, top_k: 40, thinking: { type: "enabled" }, repetition_penalty: 1.1 }],
    [{ ...valid, tools: "all", top_logprobs: 50 }],
  ])("leaves what the provider decides to the provider: %o", async (body) => {
    expectOpenAIError(await send(JSON.stringify(body)), 404, "model_not_found");
  });

  it("accepts NUL bytes and invalid UTF-8 inside strings as text, without a 5xx", async () => {
    const withNul = await send(JSON.stringify({ ...valid, messages: [{ role: "user", content: "a\u0000b" }] }));
    expectOpenAIError(withNul, 404, "model_not_found");
    const invalidUtf8 = Buffer.concat([Buffer.from('{"model":"deepseek-chat","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')]);
    expectOpenAIError(await send(invalidUtf8), 404, "model_not_found");
  });

  it("answers every generated body with a 4xx in the OpenAI error shape (property test)", async () => {
    const message = fc.record({ role: fc.oneof(fc.constantFrom("user", "system", "assistant", "tool"), fc.string()), content: fc.jsonValue() }, { requiredKeys: [] });
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          model: fc.oneof(fc.string(), fc.constantFrom("deepseek-chat", "gpt-4o", "x/y"), fc.jsonValue()),
          messages: fc.oneof(fc.array(message, { maxLength: 4 }), fc.jsonValue()),
          stream: fc.oneof(fc.boolean(), fc.jsonValue()),
          temperature: fc.oneof(fc.double(), fc.jsonValue()),
          n: fc.oneof(fc.integer(), fc.jsonValue()),
          tools: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const response = await send(JSON.stringify(value) ?? "null");
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        const parsed = response.json() as { error: { message: unknown; type: unknown; code: unknown } };
        expect(typeof parsed.error.message).toBe("string");
        expect(typeof parsed.error.type).toBe("string");
      }),
      { numRuns: 300 },
    );
  });
});

describe("the nesting bound", () => {
  /** Depth of a parsed value: the reference the one-pass text scan must agree with. */
  const depthOf = (value: unknown): number =>
    value !== null && typeof value === "object" ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

  it("reads the depth from the text as from the parsed value, brackets in strings and escapes included", () => {
    const tricky = fc.oneof(fc.string(), fc.constantFrom('"', "\\", '\\"', "[[{", "}]]", '\\\\"]'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, tricky, fc.integer(), tie("array"), tie("object")),
      array: fc.array(tie("node"), { maxLength: 3 }),
      object: fc.dictionary(tricky, tie("node"), { maxKeys: 3 }),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 8 }), (parsed, limit) => {
        expect(nestsDeeperThan(JSON.stringify(parsed), limit)).toBe(depthOf(parsed) > limit);
      }),
      { numRuns: 2000 },
    );
  });
});
