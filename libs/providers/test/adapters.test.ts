import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ProviderError,
  createDeepSeekAdapter,
  createOpenAIAdapter,
  createOpenAICompatibleAdapter,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type ProviderAdapter,
} from "@llmgw/providers";
import { MOCK_MODELS, freePort, startMockUpstream, type MockUpstream } from "@llmgw/testing";

const KEY = "sk-test-5f0c2d9e8b7a4c31";
let mock: MockUpstream;

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

function ask(text: string, extra: Record<string, unknown> = {}): ChatCompletionRequest {
  return { model: "mock-model", messages: [{ role: "system", content: "be brief" }, { role: "user", content: text }], ...extra };
}

async function collect(adapter: ProviderAdapter, request: ChatCompletionRequest, signal = new AbortController().signal) {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of adapter.streamChatCompletion(request, { signal })) chunks.push(chunk);
  return chunks;
}

function textOf(chunks: ChatCompletionChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** Nothing an adapter lets out of an error may carry the provider key. */
function expectNoKey(error: unknown) {
  const provider = error as ProviderError;
  const visible = [provider.message, JSON.stringify(provider.detail), String(provider.cause ?? ""), provider.stack ?? ""].join("\n");
  expect(visible).not.toContain(KEY);
}

const adapters: [string, () => ProviderAdapter][] = [
  ["openai-compatible (undici)", () => createOpenAICompatibleAdapter({ name: "mockai", baseUrl: mock.url, apiKey: KEY })],
  ["openai (official SDK)", () => createOpenAIAdapter({ name: "mockai", baseUrl: mock.url, apiKey: KEY })],
];

describe.each(adapters)("%s adapter against the mock upstream", (_label, create) => {
  let adapter: ProviderAdapter;
  beforeAll(() => {
    adapter = create();
  });
  afterAll(async () => {
    await adapter.close?.();
  });

  it("posts a JSON completion with the key and returns the upstream's answer unchanged", async () => {
    const completion = await adapter.createChatCompletion(ask("你好 🌍 hi", { stream: false, temperature: 0 }), {
      signal: new AbortController().signal,
    });
    expect(completion).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{24}$/),
      object: "chat.completion",
      created: expect.any(Number),
      model: "mock-model",
      system_fingerprint: "fp_mock_upstream",
      choices: [{ index: 0, message: { role: "assistant", content: "Echo: 你好 🌍 hi" }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
    expect(mock.calls).toHaveLength(1);
    expect(mock.calls[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(mock.calls[0].headers.authorization).toBe(`Bearer ${KEY}`);
    expect(mock.calls[0].body).toEqual({ ...ask("你好 🌍 hi"), temperature: 0 });
  });

  it("streams chunks written at odd boundaries, asking for usage", async () => {
    const chunks = await collect(adapter, ask("naïve 你好 🌍🎉 text", { stream_options: { other: 1 } }));
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    expect(textOf(chunks)).toBe("Echo: naïve 你好 🌍🎉 text");
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 6, completion_tokens: 5, total_tokens: 11 } });
    expect(mock.calls[0].body).toMatchObject({ stream: true, stream_options: { other: 1, include_usage: true } });
  });

  it("streams a long answer and reuses the connection afterwards", async () => {
    const chunks = await collect(adapter, ask("[[mock:words=300]]"));
    expect(textOf(chunks).split(" ")).toHaveLength(300);
    const again = await adapter.createChatCompletion(ask("next"), { signal: new AbortController().signal });
    expect(again.choices[0].message.content).toBe("Echo: next");
  });

  it("aborts a call waiting for headers: the reason comes back unchanged and the mock sees the socket close", async () => {
    const controller = new AbortController();
    const reason = new Error("caller cancelled");
    const pending = adapter.createChatCompletion(ask("[[mock:hang]]"), { signal: controller.signal });
    await mock.waitForCalls(1);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await mock.waitForAbort(1);
  });

  it("aborts a stream in the middle: the reason comes back unchanged and the mock sees the abort", async () => {
    const controller = new AbortController();
    const reason = new ProviderError("no data for 10 ms", { provider: "mockai", retryable: false });
    const chunks: ChatCompletionChunk[] = [];
    const run = (async () => {
      for await (const chunk of adapter.streamChatCompletion(ask("[[mock:hang_after=3]] tell me"), { signal: controller.signal })) {
        chunks.push(chunk);
        if (chunks.length === 3) controller.abort(reason);
      }
    })();
    await expect(run).rejects.toBe(reason);
    expect(chunks).toHaveLength(3);
    await mock.waitForAbort(1);
  });

  it("closes the upstream socket when the caller stops reading", async () => {
    for await (const chunk of adapter.streamChatCompletion(ask("[[mock:chunk_delay=20]] a long enough text to stream"), {
      signal: new AbortController().signal,
    })) {
      if (chunk.choices[0]?.delta.content) break;
    }
    await mock.waitForAbort(1);
  });

  it("throws an already-aborted signal's reason without calling the upstream", async () => {
    const reason = new Error("too late");
    await expect(adapter.createChatCompletion(ask("hi"), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await expect(collect(adapter, ask("hi"), AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(mock.calls).toHaveLength(0);
  });

  it("maps a 500 to a retryable ProviderError with the upstream's error object", async () => {
    const error = await failureOf(adapter.createChatCompletion(ask("[[mock:status=500]]"), { signal: new AbortController().signal }));
    expect(error).toMatchObject({
      provider: "mockai",
      status: 500,
      retryable: true,
      retryAfterMs: undefined,
      message: "mockai answered 500: mock status 500",
      detail: { message: "mock status 500", type: "server_error", param: null, code: "mock_status_500" },
    });
  });

  it("maps a 400 to a final ProviderError that keeps param and code", async () => {
    const error = await failureOf(collect(adapter, { ...ask("hi"), model: "mock-error-400" }));
    expect(error).toMatchObject({
      status: 400,
      retryable: false,
      detail: { message: "mock bad request", type: "invalid_request_error", param: "messages", code: "mock_bad_request" },
    });
  });

  it.each([
    ["retry_after=2", 2000],
    ["retry_after_ms=150", 150],
  ])("maps a 429 with %s to retryAfterMs %i", async (directive, expected) => {
    const error = await failureOf(adapter.createChatCompletion(ask(`[[mock:status=429,${directive}]]`), { signal: new AbortController().signal }));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: expected, detail: { type: "rate_limit_error" } });
  });

  it("reads Retry-After given as an HTTP date", async () => {
    const error = await failureOf(collect(adapter, ask("[[mock:status=503,retry_after_date=30]]")));
    expect(error.status).toBe(503);
    expect(error.retryAfterMs).toBeGreaterThan(27_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it.each([
    ["message", { message: "mock status 422", type: null, param: null, code: null }],
    ["string", { message: "mock status 422", type: null, param: null, code: null }],
    ["text", { message: "mock status 422", type: null, param: null, code: null }],
    ["empty", { message: "HTTP 422", type: null, param: null, code: null }],
  ])("reads an error body of shape %s", async (shape, detail) => {
    const error = await failureOf(adapter.createChatCompletion(ask(`[[mock:status=422,error_body=${shape}]]`), { signal: new AbortController().signal }));
    expect(error).toMatchObject({ status: 422, retryable: false, detail });
  });

  it("fails only the first call of a times=1 directive, then answers", async () => {
    const request = ask("[[mock:status=503,times=1,id=once]] again");
    const error = await failureOf(adapter.createChatCompletion(request, { signal: new AbortController().signal }));
    expect(error).toMatchObject({ status: 503, retryable: true });
    const completion = await adapter.createChatCompletion(request, { signal: new AbortController().signal });
    expect(completion.choices[0].message.content).toBe("Echo: [[mock:status=503,times=1,id=once]] again");
  });

  it("turns an error event in the middle of a stream into a retryable ProviderError", async () => {
    const error = await failureOf(collect(adapter, ask("[[mock:stream_error_after=2]]")));
    expect(error).toMatchObject({
      status: undefined,
      retryable: true,
      detail: { message: "mock stream error", type: "server_error", code: "mock_stream_error" },
    });
  });

  it("turns a connection dropped mid-stream into a retryable ProviderError", async () => {
    const chunks: ChatCompletionChunk[] = [];
    const error = await failureOf(
      (async () => {
        for await (const chunk of adapter.streamChatCompletion(ask("[[mock:drop_after=3]] words words words"), {
          signal: new AbortController().signal,
        })) {
          chunks.push(chunk);
        }
      })(),
    );
    expect(chunks).toHaveLength(3);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(mock.aborts).toBe(0);
  });

  it("turns a JSON answer cut in the middle into a retryable ProviderError", async () => {
    const error = await failureOf(adapter.createChatCompletion(ask("[[mock:drop_after=1]]"), { signal: new AbortController().signal }));
    expect(error).toMatchObject({ status: undefined, retryable: true });
  });

  it("never repeats the key, even when the upstream echoes it", async () => {
    const error = await failureOf(adapter.createChatCompletion(ask("[[mock:status=401,error_body=echo_key]]"), { signal: new AbortController().signal }));
    expect(error.detail.message).toBe("Incorrect API key provided: [REDACTED]");
    expect(error.retryable).toBe(false);
    expectNoKey(error);
  });

  it("lists the upstream's models", async () => {
    expect(await adapter.listModels?.({ signal: new AbortController().signal })).toEqual(MOCK_MODELS);
    expect(mock.calls[0]).toMatchObject({ method: "GET", path: "/v1/models" });
  });
});

describe("connection pool", () => {
  // undici hands a just-freed connection back a microtask late, so sequential calls may use two sockets; never more.
  const ports = () => new Set(mock.calls.map((call) => call.remotePort)).size;

  it("keeps connections alive across streams and JSON calls", async () => {
    const adapter = createOpenAICompatibleAdapter({ name: "pooled", baseUrl: mock.url, apiKey: KEY });
    for (let i = 0; i < 4; i++) {
      await collect(adapter, ask(`[[mock:words=40]] ${i}`));
      await adapter.createChatCompletion(ask(`json ${i}`), { signal: new AbortController().signal });
    }
    expect(mock.calls).toHaveLength(8);
    expect(ports()).toBeLessThanOrEqual(2);
    expect(mock.aborts).toBe(0);
    await adapter.close?.();
  });

  it("is shared by adapters of one origin and closed by the last one out", async () => {
    const first = createOpenAICompatibleAdapter({ name: "one", baseUrl: mock.url, apiKey: KEY });
    const second = createOpenAICompatibleAdapter({ name: "two", baseUrl: mock.url.replace(/\/v1$/, "/v1/"), apiKey: "sk-other-key" });
    for (const adapter of [first, first, second, second]) {
      await adapter.createChatCompletion(ask("hello"), { signal: new AbortController().signal });
    }
    const portsOf = (key: string) => new Set(mock.calls.filter((call) => call.headers.authorization === `Bearer ${key}`).map((call) => call.remotePort));
    // One pool: the second adapter's calls ride the first one's sockets.
    expect([...portsOf(KEY)].some((port) => portsOf("sk-other-key").has(port))).toBe(true);
    expect(ports()).toBeLessThanOrEqual(2);
    expect(mock.calls[3].headers.authorization).toBe("Bearer sk-other-key");
    expect(mock.calls[3].path).toBe("/v1/chat/completions");
    await first.close?.();
    await first.close?.();
    const after = await second.createChatCompletion(ask("still open"), { signal: new AbortController().signal });
    expect(after.choices[0].message.content).toBe("Echo: still open");
    await second.close?.();
    const fresh = createOpenAICompatibleAdapter({ name: "three", baseUrl: mock.url, apiKey: KEY });
    const answer = await fresh.createChatCompletion(ask("new pool"), { signal: new AbortController().signal });
    expect(answer.choices[0].message.content).toBe("Echo: new pool");
    await fresh.close?.();
  });
});

describe("connection failures", () => {
  it.each([
    ["openai-compatible", (baseUrl: string) => createOpenAICompatibleAdapter({ name: "down", baseUrl, apiKey: KEY })],
    ["openai", (baseUrl: string) => createOpenAIAdapter({ name: "down", baseUrl, apiKey: KEY })],
  ])("%s: a refused connection is a retryable ProviderError without the key", async (_label, create) => {
    const adapter = create(`http://127.0.0.1:${await freePort()}/v1`);
    const error = await failureOf(adapter.createChatCompletion(ask("hi"), { signal: new AbortController().signal }));
    expect(error).toMatchObject({ provider: "down", status: undefined, retryable: true });
    expectNoKey(error);
    await adapter.close?.();
  });
});

describe("deepseek adapter", () => {
  it("is the OpenAI-compatible adapter under the name deepseek, with the configured base URL", async () => {
    const adapter = createDeepSeekAdapter({ apiKey: KEY, baseUrl: mock.url });
    expect(adapter.name).toBe("deepseek");
    const chunks = await collect(adapter, { ...ask("[[mock:reasoning]] think"), model: "deepseek-reasoner" });
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: null, reasoning_content: "" });
    expect(textOf(chunks)).toBe("Echo: [[mock:reasoning]] think");
    const error = await failureOf(adapter.createChatCompletion(ask("[[mock:status=429]]"), { signal: new AbortController().signal }));
    expect(error.message).toBe("deepseek answered 429: mock status 429");
    expect(mock.calls.map((call) => call.path)).toEqual(["/v1/chat/completions", "/v1/chat/completions"]);
    await adapter.close?.();
  });
});

describe("the end of a stream", () => {
  it("ends at [DONE] without waiting for the upstream to close its response", async () => {
    const { createServer } = await import("node:http");
    // An upstream that holds its response open after [DONE] (some proxies do, for a while).
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = { id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: "stop" }] };
      response.write(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
      void held.then(() => response.end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const adapter = createOpenAICompatibleAdapter({ name: "held", baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: KEY });
    try {
      const ended = collect(adapter, ask("hi")).then((chunks) => ({ chunks }));
      const outcome = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve("still waiting"), 2000))]);
      expect(outcome).toEqual({ chunks: [expect.objectContaining({ id: "c1" })] });
    } finally {
      release();
      await adapter.close?.();
      server.close();
    }
  });
});
