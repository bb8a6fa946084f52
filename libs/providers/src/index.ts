export * from "./types.js";
export { ProviderError, isRetryableStatus, type ProviderErrorOptions, type UpstreamErrorDetail } from "./provider-error.js";
export {
  parseUpstreamErrorBody,
  parseUpstreamErrorValue,
  parseRetryAfterMs,
  redact,
  type HeaderLookup,
} from "./upstream-error.js";
export { readSsePayloads } from "./sse/read-sse-data.js";
export { parseSseJson, type SseJsonOptions } from "./sse/read-sse-json.js";
export { jsonTextOf, keepAnswerJson, keepRawJson } from "./sse/raw-json.js";
export { createOpenAICompatibleAdapter, type OpenAICompatibleOptions } from "./openai-compatible/adapter.js";
export { createDeepSeekAdapter, type DeepSeekOptions } from "./deepseek/adapter.js";
export { DEEPSEEK_MODELS, isDeepSeekModel } from "./deepseek/models.js";
export { createOpenAIAdapter, type OpenAIOptions } from "./openai/adapter.js";
export { OPENAI_MODELS, isOpenAIModel } from "./openai/models.js";
export { assembleChatCompletion, createCompletionAssembler } from "./assemble-completion.js";
export { clientAskedUsage, isUsageOnlyChunk, withUsageAsked } from "./stream-usage.js";
export { readProvidersFile, type ExtraProviderConfig } from "./providers-file.js";
export { routeModel, DEEPSEEK, OPENAI, type ModelRoute, type RouteTable } from "./model-router.js";
export { maskKey, splitKeys, type Channel, type ChannelRoute } from "./channel.js";
export { createProviderRegistry, type ModelEntry, type ProviderRegistry, type ResolvedModel } from "./registry.js";
export { createModelLabeler, OTHER_MODEL_LABEL, type ModelLabeler } from "./model-labels.js";
