import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assembleChatCompletion,
  createOpenAIAdapter,
  createOpenAICompatibleAdapter,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type ProviderAdapter,
} from "@llmgw/providers";
import { startMockUpstream, type MockUpstream } from "@llmgw/testing";

let mock: MockUpstream;
let adapters: ProviderAdapter[];

beforeAll(async () => {
  mock = await startMockUpstream({ recordCalls: false });
  adapters = [
    createOpenAICompatibleAdapter({ name: "mockai", baseUrl: mock.url, apiKey: "sk-assemble" }),
    createOpenAIAdapter({ name: "mockai", baseUrl: mock.url, apiKey: "sk-assemble" }),
  ];
});
afterAll(async () => {
  await Promise.all(adapters.map((adapter) => adapter.close?.()));
  await mock.close();
});

const weather = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };

describe("assembled stream equals the JSON answer (mock upstream)", () => {
  const cases: [string, ChatCompletionRequest][] = [
    ["plain text with multi-byte characters", { model: "mock-model", messages: [{ role: "user", content: "héllo 你好 🌍👋🏽 done" }] }],
    ["text parts", { model: "mock-model", messages: [{ role: "user", content: [{ type: "text", text: "part one" }, { type: "text", text: "二" }] }] }],
    ["a long answer", { model: "mock-model", messages: [{ role: "user", content: "[[mock:words=120]]" }], max_tokens: 500 }],
    ["a tool call", { model: "mock-model", messages: [{ role: "user", content: "weather? [[mock:tool]]" }], tools: [weather] }],
    ["DeepSeek reasoning", { model: "deepseek-reasoner", messages: [{ role: "user", content: "why? [[mock:reasoning]]" }] }],
  ];

  it.each(cases)("%s", async (_label, request) => {
    for (const adapter of adapters) {
      const signal = new AbortController().signal;
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of adapter.streamChatCompletion(request, { signal })) chunks.push(chunk);
      const completion = await adapter.createChatCompletion(request, { signal });
      expect(chunks.length).toBeGreaterThan(3);
      expect(assembleChatCompletion(chunks)).toStrictEqual(completion);
    }
  });

  it("rebuilds the tool call exactly", async () => {
    const request = cases[3][1];
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of adapters[0].streamChatCompletion(request, { signal: new AbortController().signal })) chunks.push(chunk);
    const { choices } = assembleChatCompletion(chunks);
    expect(choices).toStrictEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [{ id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
        },
        logprobs: null,
        finish_reason: "tool_calls",
      },
    ]);
  });
});

function chunk(choices: unknown[], extra: Record<string, unknown> = {}): ChatCompletionChunk {
  return { id: "chatcmpl-1", object: "chat.completion.chunk", created: 7, model: "m", choices, ...extra } as ChatCompletionChunk;
}

const token = (text: string) => ({ token: text, logprob: -0.5, bytes: [...Buffer.from(text)], top_logprobs: [] });

describe("assembleChatCompletion", () => {
  it("merges interleaved choices and parallel tool calls by index", () => {
    const chunks = [
      chunk([{ index: 1, delta: { role: "assistant", content: "B" }, finish_reason: null }]),
      chunk([{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "two", arguments: "" } }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "one", arguments: '{"x"' } }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 1, function: { arguments: "{}" } }, { index: 0, function: { arguments: ":1}" } }] }, finish_reason: null }]),
      chunk([{ index: 1, delta: { content: "ye" }, finish_reason: "length" }]),
      chunk([{ index: 0, delta: {}, finish_reason: "tool_calls" }]),
    ];
    expect(assembleChatCompletion(chunks)).toStrictEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 7,
      model: "m",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_a", type: "function", function: { name: "one", arguments: '{"x":1}' } },
              { id: "call_b", type: "function", function: { name: "two", arguments: "{}" } },
            ],
          },
          logprobs: null,
          finish_reason: "tool_calls",
        },
        { index: 1, message: { role: "assistant", content: "Bye" }, logprobs: null, finish_reason: "length" },
      ],
    });
  });

  it("keeps OpenAI's refusal, logprobs, service tier, fingerprint and usage", () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } };
    const meta = { service_tier: "default", system_fingerprint: "fp_1", usage: null };
    const chunks = [
      chunk([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: { content: [], refusal: null }, finish_reason: null }], meta),
      chunk([{ index: 0, delta: { content: "Hi" }, logprobs: { content: [token("Hi")], refusal: null }, finish_reason: null }], meta),
      chunk([{ index: 0, delta: { content: "!" }, logprobs: { content: [token("!")], refusal: null }, finish_reason: null }], meta),
      chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }], meta),
      chunk([], { ...meta, usage }),
    ];
    expect(assembleChatCompletion(chunks)).toStrictEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 7,
      model: "m",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hi!", refusal: null },
          logprobs: { content: [token("Hi"), token("!")], refusal: null },
          finish_reason: "stop",
        },
      ],
      usage,
      service_tier: "default",
      system_fingerprint: "fp_1",
    });
  });

  it("concatenates a refusal and leaves content null", () => {
    const chunks = [
      chunk([{ index: 0, delta: { role: "assistant", content: null, refusal: "I can't" }, finish_reason: null }]),
      chunk([{ index: 0, delta: { refusal: " help." }, finish_reason: "stop" }]),
    ];
    expect(assembleChatCompletion(chunks).choices[0].message).toStrictEqual({ role: "assistant", content: null, refusal: "I can't help." });
  });

  it("rebuilds DeepSeek reasoner answers, usage on the last chunk with choices", () => {
    const usage = { prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 };
    const chunks = [
      chunk([{ index: 0, delta: { role: "assistant", content: null, reasoning_content: "" }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: null, reasoning_content: "Hmm, " }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: null, reasoning_content: "yes." }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: "Yes", reasoning_content: null }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: "", reasoning_content: null }, logprobs: null, finish_reason: "stop" }], { usage }),
    ];
    expect(assembleChatCompletion(chunks)).toStrictEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 7,
      model: "m",
      choices: [
        { index: 0, message: { role: "assistant", content: "Yes", reasoning_content: "Hmm, yes." }, logprobs: null, finish_reason: "stop" },
      ],
      usage,
    });
  });

  it("merges a legacy function_call and keeps an empty answer as an empty string", () => {
    const call = [
      chunk([{ index: 0, delta: { role: "assistant", content: null, function_call: { name: "f", arguments: "" } }, finish_reason: null }]),
      chunk([{ index: 0, delta: { function_call: { arguments: "{}" } }, finish_reason: "function_call" }]),
    ];
    expect(assembleChatCompletion(call).choices[0].message).toStrictEqual({
      role: "assistant",
      content: null,
      function_call: { name: "f", arguments: "{}" },
    });
    const empty = [chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }])];
    expect(assembleChatCompletion(empty).choices[0].message).toStrictEqual({ role: "assistant", content: "" });
  });

  it("takes id, created and model from the first chunk that has them, after Azure's prompt filter chunk", () => {
    const filter = { id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: "safe" } } }] };
    const body = { id: "chatcmpl-az", object: "chat.completion.chunk", created: 1764201600, model: "gpt-4o-2024-11-20", system_fingerprint: "fp_az" };
    const chunks = [
      filter,
      { ...body, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null, content_filter_results: {} }] },
      { ...body, choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null, logprobs: null, content_filter_results: { hate: { filtered: false, severity: "safe" } } }] },
      { ...body, choices: [{ index: 0, delta: {}, finish_reason: "stop", logprobs: null, content_filter_results: {} }] },
    ] as unknown as ChatCompletionChunk[];
    expect(assembleChatCompletion(chunks)).toStrictEqual({
      id: "chatcmpl-az",
      object: "chat.completion",
      created: 1764201600,
      model: "gpt-4o-2024-11-20",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hi" },
          logprobs: null,
          finish_reason: "stop",
          // Last non-null value: Azure's final chunk carries an empty object.
          content_filter_results: {},
        },
      ],
      prompt_filter_results: filter.prompt_filter_results,
      system_fingerprint: "fp_az",
    });
  });

  it("keeps annotations, unknown top-level, per-choice and delta fields, and drops stream padding", () => {
    const base = { id: "c1", object: "chat.completion.chunk", created: 1, model: "m", obfuscation: "xyz" };
    const chunks = [
      { ...base, citations: ["https://a.example"], choices: [{ index: 0, delta: { role: "assistant", content: "A", reasoning: "th" }, finish_reason: null, x_choice: 1 }] },
      { ...base, x_trace: { hop: 2 }, choices: [{ index: 0, delta: { content: "B", reasoning: "ink", annotations: [{ type: "url_citation", url_citation: { url: "https://a.example" } }] }, finish_reason: null, x_choice: null }] },
      { ...base, choices: [{ index: 0, delta: { annotations: [{ type: "url_citation", url_citation: { url: "https://b.example" } }] }, finish_reason: "stop" }] },
      { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ] as unknown as ChatCompletionChunk[];
    const result = assembleChatCompletion(chunks) as unknown as Record<string, unknown>;
    expect(result).toStrictEqual({
      id: "c1",
      object: "chat.completion",
      created: 1,
      model: "m",
      citations: ["https://a.example"],
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "AB",
            reasoning: "think",
            annotations: [
              { type: "url_citation", url_citation: { url: "https://a.example" } },
              { type: "url_citation", url_citation: { url: "https://b.example" } },
            ],
          },
          logprobs: null,
          finish_reason: "stop",
          x_choice: 1,
        },
      ],
      x_trace: { hop: 2 },
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
  });

  it("refuses to assemble nothing", () => {
    expect(() => assembleChatCompletion([])).toThrow("cannot assemble a completion from no chunks");
  });
});
