/**
 * The chat completion request as the gateway validates it: only what the gateway itself needs
 * (routing, the queue, its own bounds). Every other parameter (stop, temperature, tools, a
 * provider's own extras such as `top_k` or `thinking`) goes to the provider unchanged, and the
 * provider's own 400 passes through: the gateway is never stricter than the provider.
 * The same schema feeds the OpenAPI document.
 */
const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] });

/** Choices per request: OpenAI's own ceiling; each choice is a text the worker holds and logs. */
export const MAX_CHOICES = 128;
/** A sanity bound on output tokens: above every provider's context, below what a typo asks for. */
export const MAX_OUTPUT_TOKENS = 10_000_000;

const outputTokens = nullable({ type: "integer", minimum: 1, maximum: MAX_OUTPUT_TOKENS });

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
        properties: { role: { type: "string", minLength: 1 } },
      },
    },
    stream: nullable({ type: "boolean" }),
    n: nullable({ type: "integer", minimum: 1, maximum: MAX_CHOICES }),
    max_tokens: outputTokens,
    max_completion_tokens: outputTokens,
  },
} as const;
