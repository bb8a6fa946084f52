import { randomUUID } from "node:crypto";
import { AIMessageChunk } from "@langchain/core/messages";
import { concat } from "@langchain/core/utils/stream";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { MOCK_REFUSAL } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// The clients people point at an OpenAI-compatible gateway, with their helpers that depend on
// the answer's exact shape: the SDK's stream accumulator and structured-output parser, and
// LangChain's tool-call and usage parsing. Each answer is compared with the provider's own.

let stack: MockedGateway;
let client: OpenAI;
// Every call reaches the provider: no cached answer stands in for it.
const BYPASS_CACHE = { "cache-control": "no-cache, no-store" };

beforeAll(async () => {
  stack = await startMockedGateway({ env: { RATE_LIMIT_ENABLED: "false" } });
  client = new OpenAI({ apiKey: stack.clientKey, baseURL: `${stack.gateway.url}/v1`, maxRetries: 0, defaultHeaders: BYPASS_CACHE });
});
afterAll(() => stack?.stop());

const newTag = () => `rc-${randomUUID()}`;

/**
 * The provider's JSON answer to what the gateway sent it for `tag`: the mock answers a request the
 * same whether streamed or not, so this is what a stream must assemble to.
 */
async function providerAnswer(tag: string): Promise<OpenAI.ChatCompletion> {
  const calls = stack.mock.calls.filter((call) => JSON.stringify(call.body).includes(tag));
  expect(calls, `upstream calls carrying ${tag}`).toHaveLength(1);
  const { stream: _stream, stream_options: _options, ...body } = calls[0].body as Record<string, unknown>;
  const response = await fetch(`${stack.mock.url}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.providerKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return (await response.json()) as OpenAI.ChatCompletion;
}

function functionCalls(message: { tool_calls?: OpenAI.ChatCompletionMessageToolCall[] | null }) {
  return (message.tool_calls ?? []).flatMap((call) => (call.type === "function" ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : []));
}

const Weather = z.object({ city: z.string(), unit: z.enum(["celsius", "fahrenheit"]) });
const LocalTime = z.object({ zone: z.string() });
const Person = z.object({ name: z.string(), age: z.number().int(), languages: z.array(z.string()), nickname: z.string().nullable(), active: z.boolean() });

describe("the official openai SDK", () => {
  it("stream() with parallel tool calls: finalChatCompletion() is the provider's answer", async () => {
    const tag = newTag();
    const stream = client.chat.completions.stream({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `Weather and time in Paris? [[mock:parallel_tools,flavor=openai]] ${tag}` }],
      tools: [zodFunction({ name: "get_weather", parameters: Weather }), zodFunction({ name: "get_local_time", parameters: LocalTime })],
      stream_options: { include_usage: true },
    });
    const done: string[] = [];
    stream.on("tool_calls.function.arguments.done", (event) => done.push(event.name));
    const final = await stream.finalChatCompletion();
    const provider = await providerAnswer(tag);
    expect(done).toEqual(["get_weather", "get_local_time"]);
    expect(final).toMatchObject({ id: provider.id, created: provider.created, model: provider.model, usage: provider.usage });
    expect(final.choices[0].finish_reason).toBe("tool_calls");
    expect(functionCalls(final.choices[0].message)).toEqual(functionCalls(provider.choices[0].message));
    // zodFunction tools are strict: the SDK parses their arguments, which must fit the schemas.
    const parsed = (final.choices[0].message.tool_calls ?? []).map((call) => (call.type === "function" ? call.function.parsed_arguments : undefined));
    expect(parsed).toEqual(functionCalls(provider.choices[0].message).map((call) => JSON.parse(call.arguments) as unknown));
    expect(Weather.safeParse(parsed[0]).success && LocalTime.safeParse(parsed[1]).success).toBe(true);
  });

  it("parse() with a zod json_schema response format fills .parsed", async () => {
    const tag = newTag();
    const completion = await client.chat.completions.parse({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `Describe a person. [[mock:flavor=openai]] ${tag}` }],
      response_format: zodResponseFormat(Person, "person"),
    });
    const message = completion.choices[0].message;
    const provider = await providerAnswer(tag);
    expect(message.refusal).toBeNull();
    expect(message.content).toBe(provider.choices[0].message.content);
    expect(message.parsed).toEqual(Person.parse(JSON.parse(message.content ?? "null")));
    expect(message.parsed?.languages.length).toBeGreaterThan(0);
  });

  it("parse() of a refusal gives .refusal and no .parsed", async () => {
    const completion = await client.chat.completions.parse({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `Describe a person. [[mock:refusal,flavor=openai]] ${newTag()}` }],
      response_format: zodResponseFormat(Person, "person"),
    });
    expect(completion.choices[0].message).toMatchObject({ content: null, refusal: MOCK_REFUSAL, parsed: null });
  });

  it("logprobs: the same tokens in a JSON answer and in a streamed one", async () => {
    const request = {
      model: "deepseek-chat",
      messages: [{ role: "user" as const, content: `Probabilities, please. [[mock:flavor=openai]] ${newTag()}` }],
      logprobs: true,
      top_logprobs: 3,
    };
    const answer = await client.chat.completions.create(request);
    const logprobs = answer.choices[0].logprobs?.content ?? [];
    expect(logprobs.map((token) => token.token).join("")).toBe(answer.choices[0].message.content);
    expect(logprobs.every((token) => token.top_logprobs.length === 3)).toBe(true);
    const streamed = await client.chat.completions.stream(request).finalChatCompletion();
    expect(streamed.choices[0].logprobs?.content).toEqual(logprobs);
  });
});

describe("LangChain ChatOpenAI", () => {
  const chat = () =>
    new ChatOpenAI({
      model: "deepseek-chat",
      apiKey: stack.clientKey,
      maxRetries: 0,
      streamUsage: true,
      configuration: { baseURL: `${stack.gateway.url}/v1`, defaultHeaders: BYPASS_CACHE },
    });
  const tools = [
    { type: "function" as const, function: { name: "get_weather", description: "Weather in a city", parameters: z.toJSONSchema(Weather) } },
    { type: "function" as const, function: { name: "get_local_time", description: "Local time in a zone", parameters: z.toJSONSchema(LocalTime) } },
  ];
  const usageOf = (provider: OpenAI.ChatCompletion) => ({
    input_tokens: provider.usage?.prompt_tokens,
    output_tokens: provider.usage?.completion_tokens,
    total_tokens: provider.usage?.total_tokens,
  });

  it("bindTools + invoke: tool calls parsed, usage_metadata present", async () => {
    const tag = newTag();
    const result = await chat().bindTools(tools).invoke(`Weather and time in Paris? [[mock:parallel_tools]] ${tag}`);
    const provider = await providerAnswer(tag);
    expect(result.tool_calls).toEqual(
      functionCalls(provider.choices[0].message).map((call) => ({ id: call.id, name: call.name, args: JSON.parse(call.arguments), type: "tool_call" })),
    );
    expect(result.usage_metadata).toMatchObject(usageOf(provider));
  });

  it("bindTools + stream: tool_call_chunks concatenate to the calls, usage_metadata present", async () => {
    const tag = newTag();
    let final: AIMessageChunk | undefined;
    for await (const chunk of await chat().bindTools(tools).stream(`Weather and time in Paris? [[mock:parallel_tools]] ${tag}`)) {
      final = final ? concat(final, chunk) : chunk;
    }
    const provider = await providerAnswer(tag);
    const calls = functionCalls(provider.choices[0].message);
    expect(final?.tool_call_chunks?.map(({ id, name, args }) => ({ id, name, args }))).toEqual(calls.map(({ id, name, arguments: args }) => ({ id, name, args })));
    expect(final?.tool_calls?.map(({ name, args }) => ({ name, args }))).toEqual(calls.map((call) => ({ name: call.name, args: JSON.parse(call.arguments) })));
    expect(final?.usage_metadata).toMatchObject(usageOf(provider));
  });

  it("stream: text concatenates to the provider's answer, usage_metadata present", async () => {
    const tag = newTag();
    let final: AIMessageChunk | undefined;
    for await (const chunk of await chat().stream(`Tell me something. [[mock:words=40]] ${tag}`)) final = final ? concat(final, chunk) : chunk;
    const provider = await providerAnswer(tag);
    expect(final?.content).toBe(provider.choices[0].message.content);
    expect(final?.usage_metadata).toMatchObject(usageOf(provider));
  });
});
