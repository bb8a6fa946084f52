/**
 * The chat completion request as the gateway validates it: the shape of what matters to
 * routing and to a clear 400, with every other OpenAI (or provider) parameter passed through.
 * The same schema feeds the OpenAPI document.
 */
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });

export const MAX_CHOICES = 16;
export const MAX_OUTPUT_TOKENS = 1_000_000;

export const chatCompletionRequestSchema = {
  type: "object",
  required: ["model", "messages"],
  additionalProperties: true,
  properties: {
    model: { type: "string", minLength: 1, maxLength: 256 },
    messages: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["role"],
        additionalProperties: true,
        properties: {
          role: { type: "string", enum: ["system", "developer", "user", "assistant", "tool", "function"] },
          content: { anyOf: [{ type: "string" }, { type: "array" }, { type: "null" }] },
          name: { type: "string" },
          tool_call_id: { type: "string" },
          tool_calls: { type: "array" },
        },
      },
    },
    stream: nullable({ type: "boolean" }),
    stream_options: nullable({ type: "object" }),
    temperature: nullable({ type: "number", minimum: 0, maximum: 2 }),
    top_p: nullable({ type: "number", minimum: 0, maximum: 1 }),
    n: nullable({ type: "integer", minimum: 1, maximum: MAX_CHOICES }),
    max_tokens: nullable({ type: "integer", minimum: 1, maximum: MAX_OUTPUT_TOKENS }),
    max_completion_tokens: nullable({ type: "integer", minimum: 1, maximum: MAX_OUTPUT_TOKENS }),
    presence_penalty: nullable({ type: "number", minimum: -2, maximum: 2 }),
    frequency_penalty: nullable({ type: "number", minimum: -2, maximum: 2 }),
    stop: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" }, maxItems: 4 }, { type: "null" }] },
    logit_bias: nullable({ type: "object" }),
    logprobs: nullable({ type: "boolean" }),
    top_logprobs: nullable({ type: "integer", minimum: 0, maximum: 20 }),
    seed: nullable({ type: "integer" }),
    user: { type: "string" },
    tools: { type: "array", items: { type: "object", required: ["type"] } },
    tool_choice: { anyOf: [{ type: "string" }, { type: "object" }] },
    parallel_tool_calls: { type: "boolean" },
    response_format: { type: "object", required: ["type"], properties: { type: { type: "string" } } },
  },
} as const;
