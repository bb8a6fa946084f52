import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GatewayStack, MockUpstream } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// The built API and two workers as real processes, the official openai client, a real Redis.
let stack: MockedGateway;
let mock: MockUpstream;
let gateway: GatewayStack;
let client: OpenAI;
let upstream: OpenAI;
let CLIENT_KEY: string;
let PROVIDER_KEY: string;

beforeAll(async () => {
  stack = await startMockedGateway({ workers: 2, env: { CACHE_ENABLED: "false", RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "trace" } });
  ({ mock, gateway, client, clientKey: CLIENT_KEY, providerKey: PROVIDER_KEY } = stack);
  upstream = new OpenAI({ apiKey: PROVIDER_KEY, baseURL: mock.url, maxRetries: 0 });
});

afterAll(() => stack?.stop());

const ask = (text: string) => ({ model: "deepseek-chat", messages: [{ role: "user" as const, content: text }] });

describe("the spine, end to end with the official openai client", () => {
  it("answers a JSON completion exactly as the provider does, with usage", async () => {
    const request = ask("Say hello in three languages: 你好 🌍");
    const { data: result, response } = await client.chat.completions.create(request).withResponse();
    const direct = await upstream.chat.completions.create(request);
    expect(result).toEqual(direct);
    expect(result.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(response.headers.get("x-job-id")).toMatch(/^job_/);
    // The worker asked for JSON, as the client did: the answer is the provider's own.
    expect(mock.calls.at(-2)?.body).toEqual(request);
  });

  it("streams chunks whose text equals the provider's answer, ending with usage", async () => {
    const request = ask("Stream this back [[mock:words=60]]");
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    const direct = await upstream.chat.completions.create(request);
    expect(text).toBe(direct.choices[0].message.content);
    expect(usage).toEqual(direct.usage);
  });

  it("serves 50 concurrent requests through two workers, each with its own answer", async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.chat.completions.create(ask(`request number ${i}`))),
    );
    answers.forEach((answer, i) => expect(answer.choices[0].message.content).toContain(`request number ${i}`));
  });

  it("refuses a wrong key with 401 invalid_api_key", async () => {
    const stranger = new OpenAI({ apiKey: "gw-not-a-real-key-000000000000", baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await expect(stranger.chat.completions.create(ask("hi"))).rejects.toMatchObject({
      status: 401,
      code: "invalid_api_key",
      type: "authentication_error",
    });
  });

  it("answers 404 model_not_found for a model no provider serves", async () => {
    await expect(client.chat.completions.create({ ...ask("hi"), model: "no-such-model" })).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
      param: "model",
    });
  });

  it("answers 400 in the OpenAI shape for a malformed body", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "deepseek-chat", messages: "not a list" }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: "Invalid value for 'messages': must be array.", type: "invalid_request_error", param: "messages", code: "invalid_request" },
    });
  });

  it("passes an upstream 400 through with its status and message", async () => {
    await expect(client.chat.completions.create({ ...ask("hi"), model: "deepseek/mock-error-400" })).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("mock bad request"),
      code: "mock_bad_request",
    });
  });

  it("never writes a client or provider key into any log line, at trace level", async () => {
    await client.chat.completions.create(ask("one more for the logs"));
    const lines = [gateway.api, ...gateway.workers].flatMap((process) => process.lines);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(line).not.toContain(CLIENT_KEY);
      expect(line).not.toContain(PROVIDER_KEY);
    }
  });
});
