import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assembleChatCompletion } from "@llmgw/providers";
import type { MockAnswerSent, MockCall } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";
import { openAISchemaErrors } from "./support/openai-schemas.js";
import { PASS_THROUGH_CASES, type PassThroughCase } from "./support/pass-through-cases.js";
import { sseData } from "./support/sse-events.js";

// CONTRACT section 5: a client cannot tell the gateway from the provider except for the headers it
// adds. Every case goes through the built API and worker processes to the mock provider, which
// records its answer as sent, so the gateway's answer is compared with the provider's own.

type Json = Record<string, unknown>;

let stack: MockedGateway;
beforeAll(async () => {
  stack = await startMockedGateway({ env: { RATE_LIMIT_ENABLED: "false" } });
});
afterAll(() => stack?.stop());

// Every call reaches the provider: no cached answer stands in for it.
const BYPASS_CACHE = { "cache-control": "no-cache, no-store" };

const MODES = [
  { mode: "JSON", stream: false, includeUsage: false },
  { mode: "stream", stream: true, includeUsage: false },
  { mode: "stream+usage", stream: true, includeUsage: true },
] as const;
type Mode = (typeof MODES)[number];

const held: Record<Mode["mode"], number> = { JSON: 0, stream: 0, "stream+usage": 0 };
afterAll(() => {
  const total = PASS_THROUGH_CASES.length;
  console.log(`pass-through: ${MODES.map(({ mode }) => `${mode} ${held[mode]} of ${total}`).join(", ")}`);
});

function clientBody(testCase: PassThroughCase, mode: Mode, tag: string): Json {
  const body = testCase.request(tag);
  if (!mode.stream) return body;
  return mode.includeUsage ? { ...body, stream: true, stream_options: { include_usage: true } } : { ...body, stream: true };
}

/** What the provider must receive: the client's body minus `stream`/`stream_options`, the model without its `provider/`. */
function expectedUpstreamBody(sent: Json): Json {
  const { stream: _stream, stream_options: _options, ...rest } = sent;
  const model = String(rest.model);
  return model.includes("/") ? { ...rest, model: model.slice(model.indexOf("/") + 1) } : rest;
}

function withoutStreamFields(body: unknown): Json {
  const { stream: _stream, stream_options: _options, ...rest } = body as Json;
  return rest;
}

/** The one upstream call that carried `tag`. */
function upstreamCallWith(tag: string): MockCall & { answer: MockAnswerSent } {
  const calls = stack.mock.calls.filter((call) => JSON.stringify(call.body).includes(tag));
  expect(calls, `upstream calls carrying ${tag}`).toHaveLength(1);
  expect(calls[0].answer, "the provider's answer was recorded").toBeDefined();
  return calls[0] as MockCall & { answer: MockAnswerSent };
}

/** Every key path in traversal order: equal lists mean equal keys in equal order. */
function keyPaths(value: unknown, path = ""): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => keyPaths(item, `${path}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) => [`${path}.${key}`, ...keyPaths(inner, `${path}.${key}`)]);
}

const isUsageOnly = (chunk: Json) => Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage != null;

function expectSchema(name: "CreateChatCompletionResponse" | "CreateChatCompletionStreamResponse", value: unknown, what: string) {
  expect(openAISchemaErrors(name, value), `${what} against OpenAI's ${name}`).toEqual([]);
}

async function checkJson(response: Response, call: MockCall & { answer: MockAnswerSent }, testCase: PassThroughCase) {
  expect(call.body, "a JSON call reaches the provider without streaming").not.toHaveProperty("stream", true);
  expect(call.answer.type, "the provider answered JSON").toBe("json");
  if (call.answer.type !== "json") return;
  const text = await response.text();
  // Byte for byte, as for chunks: spacing, indentation and number forms as the provider wrote them.
  expect(text).toBe(call.answer.body);
  const answer = JSON.parse(text) as Json;
  const provider = JSON.parse(call.answer.body) as Json;
  expect(answer).toStrictEqual(provider);
  expect(keyPaths(answer), "the provider's key order").toEqual(keyPaths(provider));
  if (testCase.shape !== "deepseek") expectSchema("CreateChatCompletionResponse", answer, "the answer");
}

async function checkStream(response: Response, call: MockCall & { answer: MockAnswerSent }, testCase: PassThroughCase, mode: Mode) {
  expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(call.answer.type, "the provider streamed").toBe("sse");
  if (call.answer.type !== "sse") return;
  const payloads = await sseData(response);
  expect(payloads.at(-1)).toBe("[DONE]");
  const chunks = payloads.slice(0, -1).map((payload) => JSON.parse(payload) as Json);
  const provider = call.answer.events.map((event) => JSON.parse(event) as Json);
  const expected = mode.includeUsage ? provider : provider.filter((chunk) => !isUsageOnly(chunk));
  expect(chunks).toStrictEqual(expected);
  // Byte for byte: each chunk is forwarded as the JSON text the provider wrote, not serialised again.
  const texts = call.answer.events.filter((_, i) => mode.includeUsage || !isUsageOnly(provider[i]));
  expect(payloads.slice(0, -1)).toEqual(texts);
  if (mode.includeUsage) expect(isUsageOnly(chunks.at(-1) ?? {}), "the usage chunk comes last when asked").toBe(true);
  if (testCase.shape === "openai") chunks.forEach((chunk, i) => expectSchema("CreateChatCompletionStreamResponse", chunk, `chunk ${i}`));
}

describe.each(MODES)("pass-through, $mode", (mode) => {
  it.each(PASS_THROUGH_CASES)("$name", async (testCase) => {
    const tag = `pt-${randomUUID()}`;
    const sent = clientBody(testCase, mode, tag);
    const response = await stack.complete(sent, { headers: BYPASS_CACHE });
    if (response.status !== 200) expect.fail(`the gateway answered ${response.status}: ${await response.text()}`);
    const call = upstreamCallWith(tag);
    expect(withoutStreamFields(call.body), "what the provider received").toStrictEqual(expectedUpstreamBody(sent));
    if (mode.stream) await checkStream(response, call, testCase, mode);
    else await checkJson(response, call, testCase);
    held[mode.mode]++;
  });
});

// A job streams from the provider: its chunk events are the provider's chunks (the usage-only one
// only when asked), and its result is what those chunks add up to, every field kept.
describe("jobs", () => {
  it.each(PASS_THROUGH_CASES)("$name", async (testCase) => {
    const tag = `pt-${randomUUID()}`;
    const sent = testCase.request(tag);
    const headers = { authorization: `Bearer ${stack.clientKey}`, "content-type": "application/json" };
    const submitted = await fetch(`${stack.gateway.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ request: sent }) });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const events = await fetch(`${stack.gateway.url}/v1/jobs/${id}/events`, { headers });
    const frames = (await sseData(events)).map((payload) => JSON.parse(payload) as { type: string; data: Json });
    const call = upstreamCallWith(tag);
    expect(withoutStreamFields(call.body), "what the provider received").toStrictEqual(expectedUpstreamBody(sent));
    if (call.answer.type !== "sse") return expect.fail("the provider was asked to stream");
    const provider = call.answer.events.map((event) => JSON.parse(event) as Json);
    expect(frames.filter((frame) => frame.type === "job.chunk").map((frame) => frame.data)).toStrictEqual(provider.filter((chunk) => !isUsageOnly(chunk)));
    const completed = frames.at(-1)!;
    expect(completed.type).toBe("job.completed");
    const result = completed.data.result as Json;
    expect(result).toStrictEqual(assembleChatCompletion(provider as never));
    // Azure's first chunk has an empty id, model and created: the result takes them from the first chunk that has them.
    expect(result).toMatchObject({ id: expect.stringMatching(/.+/), model: expect.stringMatching(/.+/), created: expect.any(Number), object: "chat.completion" });
    expect(result.created).toBeGreaterThan(0);
    // Every field the provider streamed, at the top, per choice and in the deltas, is in the result.
    for (const chunk of provider) {
      for (const field of Object.keys(chunk)) if (field !== "obfuscation") expect(result, `result.${field}`).toHaveProperty(field);
      for (const choice of (chunk.choices as Json[]) ?? []) {
        const into = (result.choices as Json[])[choice.index as number];
        for (const field of Object.keys(choice)) if (field !== "delta") expect(into, `choice.${field}`).toHaveProperty(field);
        for (const field of Object.keys((choice.delta as Json) ?? {})) expect(into.message, `message.${field}`).toHaveProperty(field);
      }
    }
    if (testCase.shape === "openai") expectSchema("CreateChatCompletionResponse", result, "the job's result");
  });
});

describe("pass-through of the rest", () => {
  it("the provider's own 4xx passes through with its status and error, JSON and stream", async () => {
    for (const stream of [false, true]) {
      const tag = `pt-${randomUUID()}`;
      const response = await stack.complete(
        { model: "deepseek-chat", messages: [{ role: "user", content: `[[mock:status=400]] ${tag}` }], stream, top_k: 3 },
        { headers: BYPASS_CACHE },
      );
      const call = upstreamCallWith(tag);
      const provider = call.answer.type === "json" ? (JSON.parse(call.answer.body) as Json) : {};
      expect(response.status).toBe(400);
      const answer = (await response.json()) as Json;
      expect(answer).toMatchObject(provider);
      expect(openAISchemaErrors("ErrorResponse", answer)).toEqual([]);
    }
  });

  it("a cached JSON answer is the provider's text too, indentation and all", async () => {
    const tag = `pt-${randomUUID()}`;
    const body = { model: "deepseek-chat", messages: [{ role: "user", content: `Indented. [[mock:flavor=openai,spaced_json]] ${tag}` }] };
    const first = await stack.complete(body);
    expect(first.headers.get("x-cache")).toBe("MISS");
    const { answer } = upstreamCallWith(tag);
    const written = answer.type === "json" ? answer.body : "";
    expect(written, "the provider indents its answer").toContain('\n  "id": ');
    expect(await first.text()).toBe(written);
    // The worker stores the answer before the caller has it: the same request now hits the cache.
    const again = await stack.complete(body);
    expect(again.headers.get("x-cache")).toBe("HIT");
    expect(again.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await again.text()).toBe(written);
    upstreamCallWith(tag); // still the one call
  });

  it("lists models in OpenAI's shape", async () => {
    const response = await fetch(`${stack.gateway.url}/v1/models`, { headers: { authorization: `Bearer ${stack.clientKey}` } });
    expect(response.status).toBe(200);
    expect(openAISchemaErrors("ListModelsResponse", await response.json())).toEqual([]);
  });
});
