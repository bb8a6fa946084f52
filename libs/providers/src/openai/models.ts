/** What GET /v1/models lists for OpenAI; routing accepts any name matching the patterns below. */
export const OPENAI_MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o1", "o3", "o3-mini", "o4-mini"] as const;

const OPENAI_MODEL_PREFIXES = ["gpt-", "o1", "o3", "o4", "chatgpt-"];

/** Does this model name belong to OpenAI (`gpt-*`, `o1*`, `o3*`, `o4*`, `chatgpt-*`)? */
export function isOpenAIModel(model: string): boolean {
  return OPENAI_MODEL_PREFIXES.some((prefix) => model.startsWith(prefix));
}
