import type { ModelEntry } from "./registry.js";

/** The label of every model name the configuration does not list. */
export const OTHER_MODEL_LABEL = "other";

/** Turns a (provider, model name) pair into a metric label value. */
export type ModelLabeler = (provider: string, model: string) => string;

/**
 * Model labels for Prometheus, bounded by configuration rather than by what clients send: a
 * model is its own label only when the registry lists it for that provider (GET /v1/models: the
 * built-in DeepSeek and OpenAI lists, each PROVIDERS_FILE entry's `models`); the client's
 * `PROVIDER/MODEL` spelling of it gets the listed name, as the worker sees it upstream. Anything
 * else, including names routing accepts by pattern (`gpt-*`, `o1*`, `PROVIDER/anything`), is
 * `other`: at most one series per listed model and provider, whatever clients send.
 */
export function createModelLabeler(entries: readonly ModelEntry[]): ModelLabeler {
  const listed = new Map<string, Set<string>>();
  for (const entry of entries) {
    let models = listed.get(entry.owned_by);
    if (!models) listed.set(entry.owned_by, (models = new Set()));
    models.add(entry.id);
  }
  return (provider, model) => {
    const models = listed.get(provider);
    if (!models) return OTHER_MODEL_LABEL;
    if (models.has(model)) return model;
    // The API labels usage by the client's name, which may be `PROVIDER/MODEL`.
    if (!model.startsWith(provider) || model[provider.length] !== "/") return OTHER_MODEL_LABEL;
    const upstream = model.slice(provider.length + 1);
    return models.has(upstream) ? upstream : OTHER_MODEL_LABEL;
  };
}
