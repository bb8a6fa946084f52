import { createOpenAICompatibleAdapter } from "../openai-compatible/adapter.js";
import type { ProviderAdapter } from "../types.js";

export interface DeepSeekOptions {
  apiKey: string;
  /** DEEPSEEK_BASE_URL, e.g. `https://api.deepseek.com`. */
  baseUrl: string;
}

/** DeepSeek speaks OpenAI Chat Completions (plus `reasoning_content`, which passes through untouched). */
export function createDeepSeekAdapter(options: DeepSeekOptions): ProviderAdapter {
  return createOpenAICompatibleAdapter({ name: "deepseek", baseUrl: options.baseUrl, apiKey: options.apiKey });
}
