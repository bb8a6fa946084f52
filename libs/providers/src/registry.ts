import { ConfigError, type Config } from "@llmgw/config";
import { maskKey, splitKeys, type Channel, type ChannelRoute } from "./channel.js";
import { createDeepSeekAdapter } from "./deepseek/adapter.js";
import { DEEPSEEK_MODELS, isDeepSeekModel } from "./deepseek/models.js";
import { DEEPSEEK, OPENAI, routeModel } from "./model-router.js";
import { createOpenAICompatibleAdapter } from "./openai-compatible/adapter.js";
import { createOpenAIAdapter } from "./openai/adapter.js";
import { OPENAI_MODELS, isOpenAIModel } from "./openai/models.js";
import { readProvidersFile } from "./providers-file.js";
import type { ProviderAdapter } from "./types.js";

export interface ResolvedModel {
  /** The adapter of the first channel (highest priority); the worker chooses a channel per try. */
  provider: ProviderAdapter;
  /** The provider named by routing: the job's `provider`, for usage and metric labels. */
  providerName: string;
  /** The first channel's upstream name. */
  upstreamModel: string;
  /** Every channel serving the model, highest priority first (never empty). */
  channels: ChannelRoute[];
}

/** An entry of GET /v1/models. */
export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

export interface ProviderRegistry {
  /** The channels for a client's model name; null when none configured serves it. */
  resolve(model: string): ResolvedModel | null;
  /** The first channel's adapter of a provider. */
  get(name: string): ProviderAdapter | undefined;
  /** Names of the configured providers, in configuration order. */
  readonly names: readonly string[];
  /** Every channel, in configuration order. */
  readonly channels: readonly Channel[];
  /** The static model list of the configured providers, each model once, for GET /v1/models. */
  listModels(): ModelEntry[];
  /** Every provider key in use (extra providers' too), for the logger's redaction list. */
  readonly secrets: readonly string[];
  close(): Promise<void>;
}

/** `created` of the static model entries: fixed, so the list is the same on every instance. */
const MODELS_CREATED = 1_735_689_600;

type RegistryConfig = Pick<Config, "deepseekApiKey" | "deepseekBaseUrl" | "openaiApiKey" | "openaiBaseUrl" | "providersFile">;

/**
 * Builds the configured channels: one per DeepSeek key (DEEPSEEK_API_KEY, comma-separated), one
 * per OpenAI key, plus one per PROVIDERS_FILE entry (keys from `env`). Base URLs come only from
 * configuration. Throws ConfigError for a bad PROVIDERS_FILE.
 */
export function createProviderRegistry(config: RegistryConfig, env: NodeJS.ProcessEnv = process.env): ProviderRegistry {
  const extras = config.providersFile ? readProvidersFile(config.providersFile, env) : [];
  const deepseekKeys = splitKeys(config.deepseekApiKey);
  const openaiKeys = splitKeys(config.openaiApiKey);
  for (const extra of extras) {
    if ((extra.name === DEEPSEEK && deepseekKeys.length > 0) || (extra.name === OPENAI && openaiKeys.length > 0)) {
      throw new ConfigError("PROVIDERS_FILE", `names provider "${extra.name}", which is already configured by its own variables`);
    }
  }
  const channels: Channel[] = [];
  const perName = new Map<string, number>();
  const add = (provider: string, adapter: ProviderAdapter, rest: Omit<Channel, "id" | "provider" | "adapter">) => {
    const index = (perName.get(provider) ?? 0) + 1;
    perName.set(provider, index);
    channels.push({ id: `${provider}-${index}`, provider, adapter, ...rest });
  };
  const builtIn = { weight: 1, priority: 0, models: [], modelMap: {} };
  for (const apiKey of deepseekKeys) {
    const adapter = createDeepSeekAdapter({ apiKey, baseUrl: config.deepseekBaseUrl });
    add(DEEPSEEK, adapter, { ...builtIn, baseUrl: config.deepseekBaseUrl, keyHint: maskKey(apiKey) });
  }
  for (const apiKey of openaiKeys) {
    const adapter = createOpenAIAdapter({ apiKey, baseUrl: config.openaiBaseUrl });
    add(OPENAI, adapter, { ...builtIn, baseUrl: config.openaiBaseUrl, keyHint: maskKey(apiKey) });
  }
  for (const extra of extras) {
    const adapter = createOpenAICompatibleAdapter({ name: extra.name, baseUrl: extra.baseUrl, apiKey: extra.apiKey });
    const models = [...new Set([...extra.models, ...Object.keys(extra.modelMap)])];
    add(extra.name, adapter, {
      baseUrl: extra.baseUrl,
      keyHint: maskKey(extra.apiKey),
      weight: extra.weight,
      priority: extra.priority,
      models,
      modelMap: extra.modelMap,
    });
  }

  const models = modelList(channels);
  const listed = new Map<string, string>();
  for (const channel of channels) for (const model of channel.models) if (!listed.has(model)) listed.set(model, channel.provider);
  const table = { configured: new Set(channels.map((channel) => channel.provider)), listed };
  const byPriority = [...channels].sort((a, b) => b.priority - a.priority);

  return {
    resolve(model) {
      const route = routeModel(model, table);
      if (!route) return null;
      const served = byPriority.filter((channel) => serves(channel, model));
      // `PROVIDER/MODEL` names one provider: its channels only, with the name after the slash.
      const routes: ChannelRoute[] =
        served.length > 0
          ? served.map((channel) => ({ channel, upstreamModel: channel.modelMap[model] ?? model }))
          : byPriority
              .filter((channel) => channel.provider === route.providerName)
              .map((channel) => ({ channel, upstreamModel: channel.modelMap[route.upstreamModel] ?? route.upstreamModel }));
      if (routes.length === 0) return null;
      const first = routes.find((candidate) => candidate.channel.provider === route.providerName) ?? routes[0];
      return { provider: first.channel.adapter, providerName: route.providerName, upstreamModel: first.upstreamModel, channels: routes };
    },
    get: (name) => channels.find((channel) => channel.provider === name)?.adapter,
    names: [...new Set(channels.map((channel) => channel.provider))],
    channels,
    listModels: () => models.map((model) => ({ ...model })),
    secrets: [...deepseekKeys, ...openaiKeys, ...extras.map((extra) => extra.apiKey)],
    async close() {
      await Promise.all(channels.map((channel) => channel.adapter.close?.()));
    },
  };
}

/** Does this channel serve the client's model name as it is (not as `PROVIDER/MODEL`)? */
function serves(channel: Channel, model: string): boolean {
  if (channel.models.includes(model)) return true;
  if (channel.provider === DEEPSEEK) return isDeepSeekModel(model);
  if (channel.provider === OPENAI) return isOpenAIModel(model);
  return false;
}

/** Each model once, owned by the first provider listing it. */
function modelList(channels: readonly Channel[]): ModelEntry[] {
  const entries = new Map<string, ModelEntry>();
  const list = (owner: string, ids: readonly string[]) => {
    for (const id of ids) if (!entries.has(id)) entries.set(id, { id, object: "model", created: MODELS_CREATED, owned_by: owner });
  };
  if (channels.some((channel) => channel.provider === DEEPSEEK)) list(DEEPSEEK, DEEPSEEK_MODELS);
  if (channels.some((channel) => channel.provider === OPENAI)) list(OPENAI, OPENAI_MODELS);
  for (const channel of channels) list(channel.provider, channel.models);
  return [...entries.values()];
}
