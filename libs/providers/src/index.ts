export * from "./types.js";
export { ProviderError, isRetryableStatus, type ProviderErrorOptions, type UpstreamErrorDetail } from "./provider-error.js";
