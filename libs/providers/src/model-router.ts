import { isDeepSeekModel } from "./deepseek/models.js";
import { isOpenAIModel } from "./openai/models.js";

/** Names of the built-in providers, as used in routing, logs and `PROVIDER/MODEL`. */
export const DEEPSEEK = "deepseek";
export const OPENAI = "openai";

export interface RouteTable {
  /** Names of the providers configured in this process. */
  configured: ReadonlySet<string>;
  /** Model name → provider name, from the extra providers' `models` lists (first listing wins). */
  listed: ReadonlyMap<string, string>;
}

export interface ModelRoute {
  providerName: string;
  /** The model name the upstream expects. */
  upstreamModel: string;
}

/**
 * Which provider serves a model (CONTRACT section 5), or null when none configured does:
 * DeepSeek's names, then OpenAI's patterns, then extra providers' lists, then `PROVIDER/MODEL`.
 */
export function routeModel(model: string, table: RouteTable): ModelRoute | null {
  if (isDeepSeekModel(model) && table.configured.has(DEEPSEEK)) return { providerName: DEEPSEEK, upstreamModel: model };
  if (isOpenAIModel(model) && table.configured.has(OPENAI)) return { providerName: OPENAI, upstreamModel: model };
  const listed = table.listed.get(model);
  if (listed !== undefined && table.configured.has(listed)) return { providerName: listed, upstreamModel: model };
  const slash = model.indexOf("/");
  if (slash > 0 && slash < model.length - 1) {
    const providerName = model.slice(0, slash);
    if (table.configured.has(providerName)) return { providerName, upstreamModel: model.slice(slash + 1) };
  }
  return null;
}
