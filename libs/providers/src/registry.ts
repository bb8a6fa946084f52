import { ConfigError, type Config } from "@llmgw/config";
import { createDeepSeekAdapter } from "./deepseek/adapter.js";
import { DEEPSEEK_MODELS } from "./deepseek/models.js";
import { DEEPSEEK, OPENAI, routeModel } from "./model-router.js";
import { createOpenAICompatibleAdapter } from "./openai-compatible/adapter.js";
import { createOpenAIAdapter } from "./openai/adapter.js";
import { OPENAI_MODELS } from "./openai/models.js";
import { readProvidersFile } from "./providers-file.js";
import type { ProviderAdapter } from "./types.js";

export interface ResolvedModel {
  provider: ProviderAdapter;
  providerName: string;
  upstreamModel: string;
}

/** An entry of GET /v1/models. */
export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

export interface ProviderRegistry {
  /** The provider for a client's model name and the name to send upstream; null when none configured serves it. */
  resolve(model: string): ResolvedModel | null;
  get(name: string): ProviderAdapter | undefined;
  /** Names of the configured providers, in configuration order. */
  readonly names: readonly string[];
  /** The static model list of the configured providers, for GET /v1/models. */
  listModels(): ModelEntry[];
  /** Every provider key in use (extra providers' too), for the logger's redaction list. */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}

/** `created` of the static model entries: fixed, so the list is the same on every instance. */
const MODELS_CREATED = 1_735_689_600;

type RegistryConfig = Pick<Config, "deepseekApiKey" | "deepseekBaseUrl" | "openaiApiKey" | "openaiBaseUrl" | "providersFile">;

/**
 * Builds the configured providers: DeepSeek when DEEPSEEK_API_KEY is set, OpenAI when
 * OPENAI_API_KEY is set, plus PROVIDERS_FILE's extra OpenAI-compatible ones (keys from `env`).
 * Base URLs come only from configuration. Throws ConfigError for a bad PROVIDERS_FILE.
 */
export function createProviderRegistry(config: RegistryConfig, env: NodeJS.ProcessEnv = process.env): ProviderRegistry {
  const extras = config.providersFile ? readProvidersFile(config.providersFile, env) : [];
  const adapters = new Map<string, ProviderAdapter>();
  const models: ModelEntry[] = [];
  const listed = new Map<string, string>();
  const secrets: string[] = [];
  const addModels = (owner: string, ids: readonly string[]) => {
    for (const id of ids) models.push({ id, object: "model", created: MODELS_CREATED, owned_by: owner });
  };

  for (const extra of extras) {
    if ((extra.name === DEEPSEEK && config.deepseekApiKey) || (extra.name === OPENAI && config.openaiApiKey)) {
      throw new ConfigError("PROVIDERS_FILE", `names provider "${extra.name}", which is already configured by its own variables`);
    }
  }
  if (config.deepseekApiKey) {
    adapters.set(DEEPSEEK, createDeepSeekAdapter({ apiKey: config.deepseekApiKey, baseUrl: config.deepseekBaseUrl }));
    addModels(DEEPSEEK, DEEPSEEK_MODELS);
    secrets.push(config.deepseekApiKey);
  }
  if (config.openaiApiKey) {
    adapters.set(OPENAI, createOpenAIAdapter({ apiKey: config.openaiApiKey, baseUrl: config.openaiBaseUrl }));
    addModels(OPENAI, OPENAI_MODELS);
    secrets.push(config.openaiApiKey);
  }
  for (const extra of extras) {
    adapters.set(extra.name, createOpenAICompatibleAdapter({ name: extra.name, baseUrl: extra.baseUrl, apiKey: extra.apiKey }));
    addModels(extra.name, extra.models);
    for (const model of extra.models) if (!listed.has(model)) listed.set(model, extra.name);
    secrets.push(extra.apiKey);
  }
  const table = { configured: new Set(adapters.keys()), listed };

  return {
    resolve(model) {
      const route = routeModel(model, table);
      const provider = route && adapters.get(route.providerName);
      return route && provider ? { provider, ...route } : null;
    },
    get: (name) => adapters.get(name),
    names: [...adapters.keys()],
    listModels: () => models.map((model) => ({ ...model })),
    secrets,
    async close() {
      await Promise.all([...adapters.values()].map((adapter) => adapter.close?.()));
    },
  };
}
