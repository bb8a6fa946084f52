import { timingSafeEqual } from "node:crypto";
import { GatewayError } from "@llmgw/errors";
import { hashApiKey, type ActiveApiKey, type ApiKeyRepository } from "@llmgw/store";
import { databaseKeyId, type ClientAuthenticator, type Principal } from "./client-auth.js";

export interface DatabaseAuthenticatorOptions {
  keys: Pick<ApiKeyRepository, "findActiveByHash" | "markUsed">;
  /** Limits for keys that have none of their own (RATE_LIMIT_PER_MINUTE / RATE_LIMIT_PER_HOUR). */
  defaults: { perMinute: number; perHour: number };
  /** How long a lookup, found or not, is trusted; bounds how long a key revoked elsewhere keeps working. */
  cacheTtlMs?: number;
  /** Most lookups kept; the least recently used go first. */
  maxEntries?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export interface DatabaseAuthenticator extends ClientAuthenticator {
  /** Forgets a key at once (a revocation here or announced by another instance). */
  revoke(keyId: string): void;
}

interface CacheEntry {
  principal: Principal | null;
  /** The lookup is trusted until then. */
  freshUntil: number;
  /** The key's own expiry in ms, checked on every hit so a cached key cannot outlive it. */
  keyExpiresAt: number | null;
}

/**
 * Client keys from SQLite. Lookups are cached in-process for `cacheTtlMs`, found or not, so a hot
 * key (or a client hammering with a bad one) costs one SQLite read per TTL rather than per request.
 * Caching "not found" cannot delay a new key: keys are random, so none is presented before it exists.
 */
export function createDatabaseAuthenticator(options: DatabaseAuthenticatorOptions): DatabaseAuthenticator {
  const { keys, defaults } = options;
  // Under the contract's 5 s: a revocation that misses the broadcast still lands in time.
  const ttl = options.cacheTtlMs ?? 4000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  // Keyed by the key's hash, never the key: the process keeps no client key beyond the request.
  // A Map iterates in insertion order; re-inserting on each hit makes its first entry the least recently used.
  const cache = new Map<string, CacheEntry>();
  const hashByKeyId = new Map<string, string>();

  function remember(hash: string, entry: CacheEntry): void {
    forget(hash);
    cache.set(hash, entry);
    if (entry.principal) hashByKeyId.set(entry.principal.keyId, hash);
    while (cache.size > maxEntries) forget(cache.keys().next().value as string);
  }

  function forget(hash: string): void {
    const keyId = cache.get(hash)?.principal?.keyId;
    if (keyId !== undefined && hashByKeyId.get(keyId) === hash) hashByKeyId.delete(keyId);
    cache.delete(hash);
  }

  function lookUp(hash: string, at: number): CacheEntry {
    let row: ActiveApiKey | null;
    try {
      row = keys.findActiveByHash(hash);
    } catch (error) {
      throw new GatewayError("service_unavailable", { cause: error });
    }
    // The index found the row by this hash; comparing again in constant time keeps the final
    // decision free of timing differences whatever the index lookup does.
    if (!row || !sameHash(row.key_hash, hash)) return { principal: null, freshUntil: at + ttl, keyExpiresAt: null };
    try {
      // Once per TTL per key, so last_used_at is accurate to the TTL without a write per request.
      keys.markUsed(row.id);
    } catch {
      // Best effort: a busy database must not turn a valid key away.
    }
    return { principal: toPrincipal(row, defaults), freshUntil: at + ttl, keyExpiresAt: row.expires_at === null ? null : row.expires_at * 1000 };
  }

  return {
    async authenticate(apiKey) {
      if (apiKey === "") return null;
      const hash = hashApiKey(apiKey);
      const at = now();
      const cached = cache.get(hash);
      if (cached && at < cached.freshUntil && (cached.keyExpiresAt === null || at < cached.keyExpiresAt)) {
        remember(hash, cached);
        return cached.principal;
      }
      const entry = lookUp(hash, at);
      remember(hash, entry);
      return entry.principal;
    },
    revoke(keyId) {
      const hash = hashByKeyId.get(keyId);
      if (hash !== undefined) forget(hash);
    },
    close() {
      cache.clear();
      hashByKeyId.clear();
    },
  };
}

function sameHash(stored: string, computed: string): boolean {
  const a = Buffer.from(stored, "hex");
  const b = Buffer.from(computed, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The database's integer ids become the principal's text identity here, and only here. */
function toPrincipal(row: ActiveApiKey, defaults: DatabaseAuthenticatorOptions["defaults"]): Principal {
  return {
    keyId: databaseKeyId(row.id),
    userId: String(row.user_id),
    keyName: row.key_name,
    rateLimitPerMinute: row.rate_limit_per_minute ?? defaults.perMinute,
    rateLimitPerHour: row.rate_limit_per_hour ?? defaults.perHour,
    models: row.models,
  };
}
