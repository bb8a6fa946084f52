/**
 * Chat completion requests a pass-through must carry unchanged, and the answers it must return
 * unchanged: OpenAI's API reference examples, structured outputs, tools, and what other
 * providers send and accept. Each request carries a tag so its upstream call can be found.
 */
export interface PassThroughCase {
  name: string;
  /**
   * Whose answer the mock gives: OpenAI-shaped answers must validate against OpenAI's schemas;
   * Azure's first stream chunk (`"object": ""`) and DeepSeek's answers (no `refusal`) cannot.
   */
  shape: "openai" | "azure" | "deepseek";
  request(tag: string): Record<string, unknown>;
}

// `deepseek-chat` is what the mocked gateway serves; the directive makes the mock answer as OpenAI.
const AS_OPENAI = "[[mock:flavor=openai]]";
const IMAGE_URL = "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg";

const weatherTool = {
  type: "function",
  function: {
    name: "get_current_weather",
    description: "Get the current weather in a given location",
    parameters: {
      type: "object",
      properties: { location: { type: "string", description: "The city and state, e.g. San Francisco, CA" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["location"],
    },
  },
};
const timeTool = {
  type: "function",
  function: { name: "get_local_time", description: "The local time in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }, strict: true },
};
const personSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    age: { type: "integer" },
    height_m: { type: "number" },
    languages: { type: "array", items: { type: "string" } },
    role: { type: "string", enum: ["admin", "member"] },
    nickname: { anyOf: [{ type: "string" }, { type: "null" }] },
    active: { type: "boolean" },
  },
  required: ["name", "age", "height_m", "languages", "role", "nickname", "active"],
  additionalProperties: false,
};
const sixteenStops = Array.from({ length: 16 }, (_, i) => `STOP${i}`);

export const PASS_THROUGH_CASES: PassThroughCase[] = [
  {
    name: "OpenAI reference: default (provider/model name)",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek/gpt-4.1",
      messages: [
        { role: "developer", content: "You are a helpful assistant." },
        { role: "user", content: `Hello! ${tag}` },
      ],
    }),
  },
  {
    name: "OpenAI reference: image input",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: `What's in this image? ${AS_OPENAI} ${tag}` },
            { type: "image_url", image_url: { url: IMAGE_URL, detail: "high" } },
          ],
        },
      ],
      max_tokens: 300,
    }),
  },
  {
    name: "OpenAI reference: functions",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `What's the weather like in Boston today? [[mock:tool,flavor=openai]] ${tag}` }],
      tools: [weatherTool],
      tool_choice: "auto",
    }),
  },
  {
    name: "parallel tool calls",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `Weather and time in Paris? [[mock:parallel_tools,flavor=openai]] ${tag}` }],
      tools: [weatherTool, timeTool],
      parallel_tool_calls: true,
    }),
  },
  {
    name: "OpenAI reference: logprobs",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [
        { role: "developer", content: "You are a helpful assistant." },
        { role: "user", content: `Hello! ${AS_OPENAI} ${tag}` },
      ],
      logprobs: true,
      top_logprobs: 2,
    }),
  },
  {
    name: "tool result round trip",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [
        { role: "system", content: "Answer with the tool's data." },
        { role: "user", content: `What's the weather in Paris? ${AS_OPENAI} ${tag}` },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_abc123", type: "function", function: { name: "get_current_weather", arguments: '{"location":"Paris, France"}' } }],
        },
        { role: "tool", tool_call_id: "call_abc123", content: '{"temperature":22,"unit":"celsius","sky":"clear"}' },
      ],
      tools: [weatherTool],
    }),
  },
  {
    name: "every parameter, n: 2, json_schema",
    shape: "openai",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `Describe a person. ${AS_OPENAI} ${tag}`, name: "tester" }],
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      logit_bias: { "50256": -100 },
      logprobs: true,
      top_logprobs: 3,
      max_completion_tokens: 512,
      n: 2,
      seed: 42,
      stop: ["\n\n\n", "END"],
      temperature: 0.7,
      top_p: 0.9,
      user: "user-1234",
      safety_identifier: "sid-5678",
      prompt_cache_key: "pass-through",
      metadata: { purpose: "conformance" },
      store: false,
      service_tier: "auto",
      modalities: ["text"],
      verbosity: "medium",
      tools: [weatherTool],
      tool_choice: "none",
      parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "person", description: "A person", strict: true, schema: personSchema } },
    }),
  },
  {
    name: "DeepSeek reasoner",
    shape: "deepseek",
    request: (tag) => ({ model: "deepseek-reasoner", messages: [{ role: "user", content: `9.11 and 9.8, which is greater? ${tag}` }] }),
  },
  {
    name: "refusal",
    shape: "openai",
    request: (tag) => ({ model: "deepseek-chat", messages: [{ role: "user", content: `Something I must refuse. [[mock:refusal,flavor=openai]] ${tag}` }] }),
  },
  {
    name: "provider extras: Azure filters, citations, unknown fields",
    shape: "azure",
    request: (tag) => ({ model: "deepseek-chat", messages: [{ role: "user", content: `Cite your sources. [[mock:extras,flavor=openai,spaced_json]] ${tag}` }] }),
  },
  {
    name: "16 stop strings and parameters OpenAI does not know",
    shape: "deepseek",
    request: (tag) => ({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `Be creative. ${tag}` }],
      stop: sixteenStops,
      temperature: 2.5,
      top_k: 40,
      min_p: 0.05,
      repetition_penalty: 1.1,
      thinking: { type: "enabled", budget_tokens: 1024 },
      chat_template_kwargs: { enable_thinking: false },
    }),
  },
];
