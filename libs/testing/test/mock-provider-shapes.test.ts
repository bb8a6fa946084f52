import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MOCK_CITATIONS, MOCK_REFUSAL, startMockUpstream, type MockUpstream } from "@llmgw/testing";
// The vendored OpenAI schemas live with the end-to-end tests, which need them most.
import { openAISchemaErrors } from "../../../test/e2e/support/openai-schemas.js";

type Json = Record<string, any>;

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

const auth = { authorization: "Bearer anything", "content-type": "application/json" };
const weather = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city", "unit"] } },
};
const clock = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" } }, required: ["zone"] } } };

async function json(body: Json): Promise<{ text: string; value: Json }> {
  const response = await fetch(`${mock.url}/chat/completions`, { method: "POST", headers: auth, body: JSON.stringify(body) });
  const text = await response.text();
  return { text, value: JSON.parse(text) as Json };
}

/** The `data:` payloads of a streamed answer, `[DONE]` left out, and that it ended with `[DONE]`. */
async function stream(body: Json, includeUsage: boolean): Promise<{ events: string[]; chunks: Json[] }> {
  const request = { ...body, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) };
  const response = await fetch(`${mock.url}/chat/completions`, { method: "POST", headers: auth, body: JSON.stringify(request) });
  const data = (await response.text()).split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6));
  expect(data.at(-1)).toBe("[DONE]");
  const events = data.slice(0, -1);
  return { events, chunks: events.map((event) => JSON.parse(event) as Json) };
}

/** Enough of a stream assembler to compare a stream with its JSON answer field by field. */
function assembleChoices(chunks: Json[]): Json[] {
  const choices: Json[] = [];
  for (const choice of chunks.flatMap((chunk) => chunk.choices as Json[])) {
    const into = (choices[choice.index] ??= { content: null, refusal: null, reasoning: null, calls: [] as Json[], tokens: [] as Json[] });
    const delta = choice.delta as Json;
    for (const field of ["content", "refusal"] as const) if (typeof delta[field] === "string") into[field] = (into[field] ?? "") + delta[field];
    if (typeof delta.reasoning_content === "string") into.reasoning = (into.reasoning ?? "") + delta.reasoning_content;
    for (const call of (delta.tool_calls ?? []) as Json[]) {
      const known = (into.calls[call.index] ??= { id: call.id, name: call.function.name, arguments: "" });
      known.arguments += call.function.arguments ?? "";
    }
    into.tokens.push(...((choice.logprobs?.content ?? choice.logprobs?.refusal ?? []) as Json[]));
    if (choice.finish_reason) into.finish = choice.finish_reason;
  }
  return choices;
}

const ask = (text: string, extra: Json = {}) => ({ model: "gpt-4o-mini", messages: [{ role: "user", content: text }], ...extra });

describe("OpenAI's shape (model gpt-*)", () => {
  it("answers JSON with refusal, annotations, service tier, fingerprint and usage details, in OpenAI's order", async () => {
    const { value } = await json(ask("hello there"));
    expect(Object.keys(value)).toEqual(["id", "object", "created", "model", "choices", "usage", "service_tier", "system_fingerprint"]);
    expect(value.choices[0].message).toEqual({ role: "assistant", content: "Echo: hello there", refusal: null, annotations: [] });
    expect(value.usage).toEqual({
      prompt_tokens: 2,
      completion_tokens: 3,
      total_tokens: 5,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
    expect(openAISchemaErrors("CreateChatCompletionResponse", value)).toEqual([]);
  });

  it("streams `usage: null` on every chunk and a usage-only chunk only when include_usage is asked", async () => {
    const { value } = await json(ask("stream me"));
    const asked = await stream(ask("stream me"), true);
    expect(asked.chunks.slice(0, -1).every((chunk) => "usage" in chunk && chunk.usage === null && chunk.choices.length === 1)).toBe(true);
    expect(asked.chunks.at(-1)).toMatchObject({ choices: [], usage: value.usage });
    expect(asked.chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "", refusal: null });
    const plain = await stream(ask("stream me"), false);
    expect(plain.chunks.every((chunk) => !("usage" in chunk) && chunk.choices.length === 1)).toBe(true);
    for (const chunk of [...asked.chunks, ...plain.chunks]) expect(openAISchemaErrors("CreateChatCompletionStreamResponse", chunk)).toEqual([]);
    expect(assembleChoices(plain.chunks)[0].content).toBe(value.choices[0].message.content);
  });

  it("calls every tool in parallel, streamed per call index with id and name first", async () => {
    const request = ask("weather and time? [[mock:parallel_tools]]", { tools: [weather, clock] });
    const { value } = await json(request);
    const calls = value.choices[0].message.tool_calls as Json[];
    expect(calls.map((call) => call.function.name)).toEqual(["get_weather", "get_time"]);
    expect(JSON.parse(calls[0].function.arguments)).toEqual({ city: expect.any(String), unit: expect.stringMatching(/^[cf]$/) });
    expect(value.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { content: null, refusal: null } });
    const { chunks } = await stream(request, false);
    const openings = chunks.flatMap((chunk) => chunk.choices[0].delta.tool_calls ?? []).filter((call: Json) => call.id !== undefined);
    expect(openings).toEqual(calls.map((call, index) => ({ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } })));
    expect(assembleChoices(chunks)[0].calls).toEqual(calls.map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments })));
    expect(openAISchemaErrors("CreateChatCompletionResponse", value)).toEqual([]);
  });

  it("gives logprobs with top_logprobs per token, the same in JSON and per chunk", async () => {
    const request = ask("probabilities", { logprobs: true, top_logprobs: 3 });
    const { value } = await json(request);
    const tokens = value.choices[0].logprobs.content as Json[];
    expect(tokens.map((token) => token.token).join("")).toBe(value.choices[0].message.content);
    for (const token of tokens) {
      expect(token.bytes).toEqual([...Buffer.from(token.token)]);
      expect(token.top_logprobs).toHaveLength(3);
      expect(token.top_logprobs[0]).toEqual({ token: token.token, logprob: token.logprob, bytes: token.bytes });
    }
    const { chunks } = await stream(request, false);
    expect(assembleChoices(chunks)[0].tokens).toEqual(tokens);
    expect(openAISchemaErrors("CreateChatCompletionResponse", value)).toEqual([]);
  });

  it("answers n choices, streamed per choice index", async () => {
    const request = ask("twice", { n: 2 });
    const { value } = await json(request);
    expect(value.choices.map((choice: Json) => choice.index)).toEqual([0, 1]);
    expect(value.choices[0].message.content).not.toBe(value.choices[1].message.content);
    const { chunks } = await stream(request, false);
    expect(assembleChoices(chunks).map((choice) => [choice.content, choice.finish])).toEqual(value.choices.map((choice: Json) => [choice.message.content, "stop"]));
  });

  it("answers a json_schema response format with JSON valid against the schema", async () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string" },
        age: { type: "integer", minimum: 18 },
        score: { type: "number" },
        tags: { type: "array", items: { type: "string", enum: ["a", "b"] } },
        nickname: { anyOf: [{ type: "string" }, { type: "null" }] },
        address: { $ref: "#/$defs/address" },
        verified: { type: "boolean" },
      },
      required: ["name", "age", "score", "tags", "nickname", "address", "verified"],
      additionalProperties: false,
      $defs: { address: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } },
    };
    const { value } = await json(ask("structured", { n: 2, response_format: { type: "json_schema", json_schema: { name: "person", strict: true, schema } } }));
    const validate = new Ajv2020().compile(schema);
    for (const choice of value.choices) expect(validate(JSON.parse(choice.message.content)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("refuses with message.refusal and content null, streamed as refusal pieces", async () => {
    const request = ask("do something bad [[mock:refusal]]");
    const { value } = await json(request);
    expect(value.choices[0].message).toEqual({ role: "assistant", content: null, refusal: MOCK_REFUSAL, annotations: [] });
    const { chunks } = await stream(request, false);
    expect(assembleChoices(chunks)[0]).toMatchObject({ content: null, refusal: MOCK_REFUSAL });
    expect(openAISchemaErrors("CreateChatCompletionResponse", value)).toEqual([]);
  });
});

describe("DeepSeek's shape", () => {
  it("deepseek-reasoner: reasoning_content, DeepSeek usage extras, no refusal or annotations", async () => {
    const request = { model: "deepseek-reasoner", messages: [{ role: "user", content: "why?" }] };
    const { value } = await json(request);
    expect(value.choices[0].message).toEqual({ role: "assistant", content: "Echo: why?", reasoning_content: expect.any(String) });
    expect(value.usage).toEqual({
      prompt_tokens: 1,
      completion_tokens: expect.any(Number),
      total_tokens: expect.any(Number),
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: expect.any(Number) },
      prompt_cache_hit_tokens: 0,
      prompt_cache_miss_tokens: 1,
    });
    expect(Object.keys(value)).not.toContain("service_tier");
    // Why tests validate only OpenAI-shaped answers against OpenAI's schema.
    expect(openAISchemaErrors("CreateChatCompletionResponse", value)).toEqual([expect.stringMatching(/^\/choices\/0\/message must have required property 'refusal'/)]);
    const { chunks } = await stream(request, true);
    expect(assembleChoices(chunks)[0]).toMatchObject({ content: "Echo: why?", reasoning: value.choices[0].message.reasoning_content });
    expect(chunks.at(-1)?.usage).toEqual(value.usage);
  });

  it("flavor= overrides the model name", async () => {
    const { value } = await json({ model: "deepseek-chat", messages: [{ role: "user", content: "[[mock:flavor=openai]]" }] });
    expect(value.choices[0].message).toMatchObject({ refusal: null, annotations: [] });
  });
});

describe("provider extras", () => {
  it("JSON: Azure's filter results and sorted keys, citations, unknown fields", async () => {
    const { value } = await json(ask("extras [[mock:extras]]"));
    expect(Object.keys(value)).toEqual(Object.keys(value).sort());
    expect(value).toMatchObject({ citations: MOCK_CITATIONS, x_provider_trace: expect.any(Object), prompt_filter_results: [{ prompt_index: 0 }] });
    expect(value.choices[0]).toMatchObject({ content_filter_results: { hate: { filtered: false } }, x_choice_trace: { rank: 0 } });
    expect(openAISchemaErrors("CreateChatCompletionResponse", value)).toEqual([]);
  });

  it("stream: Azure's empty first chunk, then per-choice filter results", async () => {
    const { chunks } = await stream(ask("extras [[mock:extras]]"), true);
    expect(chunks[0]).toEqual({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: expect.any(Array) });
    expect(chunks[1].choices[0]).toMatchObject({ content_filter_results: {}, x_choice_trace: { rank: 0 } });
    expect(chunks[2].choices[0].content_filter_results).toMatchObject({ violence: { filtered: false } });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) }, citations: MOCK_CITATIONS });
  });
});

describe("the record of what was answered", () => {
  it("keeps the JSON body text and the SSE payloads exactly as sent", async () => {
    const { text } = await json(ask("record me [[mock:extras]]"));
    expect(mock.calls[0].answer).toEqual({ type: "json", status: 200, body: text });
    const { events } = await stream(ask("record me [[mock:extras]]"), true);
    expect(mock.calls[1].answer).toEqual({ type: "sse", status: 200, events });
    await fetch(`${mock.url}/chat/completions`, { method: "POST", headers: auth, body: JSON.stringify(ask("[[mock:status=503]]")) });
    expect(mock.calls[2].answer).toEqual({ type: "json", status: 503, body: expect.stringContaining("mock status 503") });
  });
});
