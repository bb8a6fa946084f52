import { timingSafeEqual } from "node:crypto";
import { GatewayError } from "@llmgw/errors";
import { hasBudget, type OwnerBudgets } from "@llmgw/jobs";
import { createIpAllowList, hashApiKey, type ActiveApiKey, type ApiKeyRepository } from "@llmgw/store";
import { databaseKeyId, type ClientAuthenticator, type Principal } from "./client-auth.js";
import { looksLikeToken, verifyClientToken } from "./client-token.js";

export interface DatabaseAuthenticatorOptions {
  keys: Pick<ApiKeyRepository, "findActiveByHash" | "findActiveById" | "markUsed">;
  /** JWT_SECRET_KEY: clients may present an HS256 token naming their key (client-token.ts) instead of the key. */
  tokenSecret?: string;
  /** Limits for keys that have none of their own (RATE_LIMIT_PER_MINUTE / RATE_LIMIT_PER_HOUR). */
  defaults: { perMinute: number; perHour: number };
  /** How long a lookup, found or not, is trusted; bounds how long a key revoked elsewhere keeps working. */
  cacheTtlMs?: number;
  /** Most valid keys kept; the least recently used go first. Misses never take their place. */
  maxEntries?: number;
  /** Most misses (unknown keys) kept, apart from the valid keys; the oldest go first. */
  maxMisses?: number;
  /** How often the keys used since the last time get their `last_used_at` stamped, in one write. */
  lastUsedFlushMs?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export interface DatabaseAuthenticator extends ClientAuthenticator {
  /** Forgets a key at once (a revocation here or announced by another instance). */
  revoke(keyId: string): void;
  /**
   * Forgets what it knows of a key an admin changed here (PATCH), the misses too: a key switched
   * back on was cached as a miss, which is known by hash only. Misses cost one read each to relearn.
   */
  changed(keyId: string): void;
  /** Stamps `last_used_at` of the keys used since the last flush now (the timer does it every `lastUsedFlushMs`). */
  flushLastUsed(): Promise<void>;
}

interface KeyEntry {
  principal: Principal;
  /** The database id, for the `last_used_at` batch. */
  id: number;
  /** The lookup is trusted until then. */
  freshUntil: number;
  /** The key's own expiry in ms, checked on every hit so a cached key cannot outlive it. */
  keyExpiresAt: number | null;
}

/**
 * Client keys from the database, cached in-process for `cacheTtlMs` so a hot key costs one database read per
 * TTL rather than per request. Valid keys and misses live in two caches: a spray of random keys churns
 * only the small cache of misses and never evicts a valid key (which would turn every real request
 * into a read). A miss is cached too, so one client hammering with the same bad key costs one read
 * per TTL; that cannot delay a new key, since keys are random and none is presented before it exists.
 * `last_used_at` is written off the request path: used keys are gathered and stamped in one
 * transaction every `lastUsedFlushMs`.
 */
export function createDatabaseAuthenticator(options: DatabaseAuthenticatorOptions): DatabaseAuthenticator {
  const { keys, defaults } = options;
  // Under the contract's 5 s: a revocation that misses the broadcast still lands in time.
  const ttl = options.cacheTtlMs ?? 4000;
  const maxEntries = options.maxEntries ?? 10_000;
  const maxMisses = options.maxMisses ?? 1_000;
  const now = options.now ?? Date.now;
  // Keyed by the key's hash, never the key: the process keeps no client key beyond the request.
  // A Map iterates in insertion order; re-inserting on each hit makes its first entry the least recently used.
  const valid = new Map<string, KeyEntry>();
  const hashByKeyId = new Map<string, string>();
  // Hash -> the miss is trusted until then.
  const misses = new Map<string, number>();
  const usedSinceFlush = new Set<number>();
  // Keys reached through client tokens, by database id: every token of a key shares one lookup.
  const byId = new Map<number, KeyEntry>();

  function remember(hash: string, entry: KeyEntry): void {
    forget(hash);
    valid.set(hash, entry);
    hashByKeyId.set(entry.principal.keyId, hash);
    while (valid.size > maxEntries) forget(valid.keys().next().value as string);
  }

  function forget(hash: string): void {
    const keyId = valid.get(hash)?.principal.keyId;
    if (keyId !== undefined && hashByKeyId.get(keyId) === hash) hashByKeyId.delete(keyId);
    valid.delete(hash);
  }

  function rememberMiss(hash: string, freshUntil: number): void {
    misses.delete(hash);
    misses.set(hash, freshUntil);
    while (misses.size > maxMisses) misses.delete(misses.keys().next().value as string);
  }

  async function read(find: () => Promise<ActiveApiKey | null>): Promise<ActiveApiKey | null> {
    try {
      return await find();
    } catch (error) {
      throw new GatewayError("service_unavailable", { cause: error });
    }
  }

  async function lookUp(hash: string, at: number): Promise<KeyEntry | null> {
    const row = await read(() => keys.findActiveByHash(hash));
    // The index found the row by this hash; comparing again in constant time keeps the final
    // decision free of timing differences whatever the index lookup does.
    if (!row || !sameHash(row.key_hash, hash)) return null;
    return entryOf(row, at);
  }

  const isFresh = (entry: KeyEntry, at: number) => at < entry.freshUntil && (entry.keyExpiresAt === null || at < entry.keyExpiresAt);

  /** A client token: its signature and times checked here, its key looked up by id (at most once per TTL). */
  async function byToken(token: string, at: number): Promise<Principal | null> {
    const id = verifyClientToken(token, options.tokenSecret!, Math.floor(at / 1000));
    if (id === null) return null;
    const cached = byId.get(id);
    if (cached && isFresh(cached, at)) return served(cached);
    byId.delete(id);
    const row = await read(() => keys.findActiveById(id));
    if (!row) return null;
    const entry = entryOf(row, at);
    byId.set(id, entry);
    while (byId.size > maxEntries) byId.delete(byId.keys().next().value as number);
    return served(entry);
  }

  function entryOf(row: ActiveApiKey, at: number): KeyEntry {
    return {
      principal: toPrincipal(row, defaults),
      id: row.id,
      freshUntil: at + ttl,
      keyExpiresAt: row.expires_at === null ? null : row.expires_at * 1000,
    };
  }

  async function flushLastUsed(): Promise<void> {
    if (usedSinceFlush.size === 0) return;
    const ids = [...usedSinceFlush];
    usedSinceFlush.clear();
    try {
      await keys.markUsed(ids);
    } catch {
      // Best effort: a busy database costs a stamp, never a request.
    }
  }
  const flushTimer = setInterval(() => void flushLastUsed(), options.lastUsedFlushMs ?? 5000);
  flushTimer.unref();

  function served(entry: KeyEntry): Principal {
    usedSinceFlush.add(entry.id);
    return entry.principal;
  }

  return {
    async authenticate(apiKey) {
      if (apiKey === "") return null;
      const at = now();
      if (options.tokenSecret && looksLikeToken(apiKey)) return byToken(apiKey, at);
      const hash = hashApiKey(apiKey);
      const cached = valid.get(hash);
      if (cached && isFresh(cached, at)) {
        remember(hash, cached);
        return served(cached);
      }
      const missUntil = misses.get(hash);
      if (missUntil !== undefined && at < missUntil) return null;
      const entry = await lookUp(hash, at);
      if (!entry) {
        forget(hash);
        rememberMiss(hash, at + ttl);
        return null;
      }
      misses.delete(hash);
      remember(hash, entry);
      return served(entry);
    },
    revoke(keyId) {
      const hash = hashByKeyId.get(keyId);
      if (hash !== undefined) forget(hash);
      byId.delete(Number(keyId));
    },
    changed(keyId) {
      this.revoke(keyId);
      misses.clear();
    },
    flushLastUsed,
    async close() {
      clearInterval(flushTimer);
      valid.clear();
      byId.clear();
      hashByKeyId.clear();
      misses.clear();
      await flushLastUsed();
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
    allowedIps: row.allowed_ips === null ? null : createIpAllowList(row.allowed_ips),
    budgets: ownerBudgets(row),
    maxConcurrent: row.max_concurrent,
  };
}

function ownerBudgets(row: ActiveApiKey): OwnerBudgets | null {
  const budgets = {
    key: { daily: row.token_budget_daily, monthly: row.token_budget_monthly },
    user: { daily: row.user_token_budget_daily, monthly: row.user_token_budget_monthly },
  };
  return hasBudget(budgets.key) || hasBudget(budgets.user) ? budgets : null;
}
