import { cacheScope, canonicalRequestKey, coalescingJobId, deliveryOf, parseCacheControl, type ResponseCache } from "@llmgw/cache";
import type { ChatCompletion, ChatCompletionRequest } from "@llmgw/providers";
import type { Principal } from "./client-auth.js";

export type CacheStatus = "HIT" | "MISS" | "BYPASS";

export interface CachePlan {
  /** The canonical request key, when the cache takes part at all. */
  key: string | null;
  /** A stored answer, when the lookup found one. */
  hit: ChatCompletion | null;
  /** `x-cache` of the answer. */
  status: CacheStatus;
  /** Where the worker stores a successful result (absent with `no-store`). */
  storeAs: string | undefined;
  /** Identical requests in flight share this job id (absent with `no-cache`). */
  coalesceAs: string | undefined;
}

/**
 * How one completion request uses the response cache: exact match on the canonical request
 * (scoped per user), `Cache-Control: no-cache` skips the lookup, `no-store` skips storing.
 */
export function createCompletionCache(cache: ResponseCache | null) {
  return {
    async plan(principal: Principal, request: ChatCompletionRequest, cacheControl: string | string[] | undefined): Promise<CachePlan> {
      const directives = parseCacheControl(cacheControl);
      if (!cache || (directives.noCache && directives.noStore)) {
        return { key: null, hit: null, status: "BYPASS", storeAs: undefined, coalesceAs: undefined };
      }
      const key = canonicalRequestKey(request, cacheScope(principal));
      const delivery = deliveryOf(request);
      // Only a provider's JSON answer is stored; a stream is replayed from one but never becomes one.
      const storeAs = directives.noStore || delivery !== "json" ? undefined : key;
      if (directives.noCache) return { key, hit: null, status: "BYPASS", storeAs, coalesceAs: undefined };
      const hit = await cache.get(key);
      return { key, hit, status: hit ? "HIT" : "MISS", storeAs, coalesceAs: coalescingJobId(key, delivery) };
    },
  };
}

export type CompletionCache = ReturnType<typeof createCompletionCache>;
