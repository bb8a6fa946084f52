export { canonicalRequestKey, canonicalJson, cacheScope } from "./canonical-request-key.js";
export { createResponseCache, type ResponseCache, type ResponseCacheOptions, type CacheOperation } from "./response-cache.js";
export { parseCacheControl, type CacheDirectives } from "./cache-control.js";
export { coalescingJobId, deliveryOf, type Delivery } from "./coalescing-job-id.js";
