/** The models DeepSeek serves under its own names (CONTRACT section 5). */
export const DEEPSEEK_MODELS = ["deepseek-chat", "deepseek-reasoner", "deepseek-coder"] as const;

/** Does this model name belong to DeepSeek? */
export function isDeepSeekModel(model: string): boolean {
  return (DEEPSEEK_MODELS as readonly string[]).includes(model);
}
