import { systemClock, type Clock } from "./clock.js";
import type { Database } from "./open-database.js";
import { toRowView, usageListQuery, usageSeriesQuery, type UsagePoint, type UsageQueries } from "./usage-queries.js";

/** How a request was answered: synchronous JSON, SSE, job, WebSocket, or straight from the cache. */
export type UsageKind = "sync" | "stream" | "job" | "ws" | "cache";

/**
 * One finished request. The shape of `UsageEntry` in @llmgw/jobs (what workers put on the usage
 * stream), so an entry read from the stream is recorded as it is. A given `jobId` is recorded once.
 */
export interface UsageEntry {
  /** The principal's key id: `String(id)` of a database key, `static-` and 16 hex digits for an API_KEYS key. */
  keyId: string;
  /** `String(id)` of the key's user; null for static keys. */
  userId: string | null;
  model: string;
  provider: string;
  /** The upstream channel that served it (`deepseek-1`); null or absent when none did. */
  channel?: string | null;
  promptTokens?: number;
  completionTokens?: number;
  latencyMs?: number;
  /** The HTTP status the caller got (or would have got, for jobs and WebSocket). */
  status: number;
  cacheHit?: boolean;
  jobId?: string | null;
  requestId: string;
  kind: UsageKind;
  /** Unix milliseconds, as the producers stamp it (stored in seconds like every time column); defaults to now. */
  createdAt?: number;
}

export interface TokenCounts {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
}

/** What `GET /api/v1/admin/stats` reports from the database (queue depths come from Redis). */
export interface UsageStats {
  users: number;
  /** Keys usable now: not revoked, not expired. */
  api_keys: number;
  requests: number;
  requests_by_status: Record<string, number>;
  tokens: { prompt: number; completion: number };
  cache_hits: number;
  /** Every model, most requests first. */
  per_model: ({ model: string } & TokenCounts)[];
  /**
   * The `perKeyLimit` keys with most requests, most first. A database key shows its integer id and its
   * user's; a key not in the database (static `API_KEYS`) its text id (`static-…`) with null name and user.
   */
  per_key: ({ key_id: number | string; key_name: string | null; user_id: number | null } & TokenCounts)[];
}

export interface UsageRepository extends UsageQueries {
  /** Appends one entry; false when an entry with the same `jobId` already exists. */
  record(entry: UsageEntry): Promise<boolean>;
  /** Appends several in one transaction (one statement on PostgreSQL); returns those newly recorded. */
  recordAll<E extends UsageEntry>(entries: E[]): Promise<E[]>;
  /** Deletes up to `limit` of the oldest rows created before `cutoff` (unix seconds); returns how many. */
  pruneBefore(cutoff: number, limit: number): Promise<number>;
  stats(): Promise<UsageStats>;
}

/** A usage row as both databases store it (cache_hit 0/1 here; PostgreSQL stores a boolean). */
export interface UsageRow {
  created_at: number;
  key_id: string;
  user_id: string | null;
  model: string;
  provider: string;
  channel: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
  status: number;
  cache_hit: number;
  job_id: string | null;
  request_id: string;
  kind: UsageKind;
}

const wholeOrZero = (value: number | undefined) => (Number.isFinite(value) ? Math.max(0, Math.round(value as number)) : 0);

/** The row of an entry: times in seconds (`createdAt` is unix ms; absent = now), counts whole and not negative. */
export function toUsageRow(entry: UsageEntry, now: Clock): UsageRow {
  return {
    created_at: entry.createdAt === undefined ? now() : Math.floor(entry.createdAt / 1000),
    key_id: entry.keyId,
    user_id: entry.userId,
    model: entry.model,
    provider: entry.provider,
    channel: entry.channel ?? null,
    prompt_tokens: wholeOrZero(entry.promptTokens),
    completion_tokens: wholeOrZero(entry.completionTokens),
    latency_ms: wholeOrZero(entry.latencyMs),
    status: entry.status,
    cache_hit: entry.cacheHit ? 1 : 0,
    job_id: entry.jobId ?? null,
    request_id: entry.requestId,
    kind: entry.kind,
  };
}

/** The usage log in SQLite: one row per finished request, and the aggregates the admin API shows. */
export function createUsageRepository(db: Database, options: { now?: Clock; perKeyLimit?: number } = {}): UsageRepository {
  const now = options.now ?? systemClock;
  const perKeyLimit = options.perKeyLimit ?? 100;
  // OR IGNORE only swallows the unique job_id index: a retried job, or two processes reporting it.
  const insert = db.prepare<[UsageRow]>(
    `INSERT OR IGNORE INTO usage_log (created_at, key_id, user_id, model, provider, channel, prompt_tokens, completion_tokens,
       latency_ms, status, cache_hit, job_id, request_id, kind)
     VALUES (@created_at, @key_id, @user_id, @model, @provider, @channel, @prompt_tokens, @completion_tokens,
       @latency_ms, @status, @cache_hit, @job_id, @request_id, @kind)`,
  );
  const pruneBatch = db.prepare<[number, number]>(
    "DELETE FROM usage_log WHERE id IN (SELECT id FROM usage_log WHERE created_at < ? ORDER BY created_at LIMIT ?)",
  );
  const countUsers = db.prepare<[], number>("SELECT count(*) FROM users").pluck();
  const countActiveKeys = db
    .prepare<[number], number>("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
    .pluck();
  const totals = db.prepare<[], { requests: number; prompt: number; completion: number; cache_hits: number }>(
    `SELECT count(*) AS requests, coalesce(sum(prompt_tokens), 0) AS prompt,
       coalesce(sum(completion_tokens), 0) AS completion, coalesce(sum(cache_hit), 0) AS cache_hits
     FROM usage_log`,
  );
  const byStatus = db.prepare<[], { status: number; requests: number }>(
    "SELECT status, count(*) AS requests FROM usage_log GROUP BY status ORDER BY status",
  );
  const byModel = db.prepare<[], { model: string } & TokenCounts>(
    `SELECT model, count(*) AS requests, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens
     FROM usage_log GROUP BY model ORDER BY requests DESC, model`,
  );
  // usage_log.key_id is text ('1', 'static-1'): comparing it with the INTEGER k.id converts only a
  // text that is exactly a number ('1' = 1), so static keys never match a row, and k.id's index is used.
  const byKey = db.prepare<[number], UsageStats["per_key"][number]>(
    `SELECT coalesce(k.id, u.key_id) AS key_id, k.key_name, k.user_id, count(*) AS requests,
       sum(u.prompt_tokens) AS prompt_tokens, sum(u.completion_tokens) AS completion_tokens
     FROM usage_log u LEFT JOIN api_keys k ON k.id = u.key_id
     GROUP BY u.key_id ORDER BY requests DESC, u.key_id LIMIT ?`,
  );

  const record = (entry: UsageEntry): boolean => insert.run(toUsageRow(entry, now)).changes === 1;
  const recordInOneTransaction = db.transaction((entries: UsageEntry[]) => entries.filter(record));

  return {
    record: async (entry) => record(entry),
    recordAll: async <E extends UsageEntry>(entries: E[]) => recordInOneTransaction(entries) as E[],
    pruneBefore: async (cutoff, limit) => pruneBatch.run(cutoff, limit).changes,
    async list(filter, options) {
      const { sql, params } = usageListQuery("sqlite", filter, options.limit);
      return (db.prepare(sql).all(...params) as Parameters<typeof toRowView>[0][]).map(toRowView);
    },
    async series(filter, options) {
      const { sql, params } = usageSeriesQuery("sqlite", filter, options);
      return db.prepare(sql).all(...params) as UsagePoint[];
    },
    async stats() {
      // One read transaction, so the figures agree with each other while usage keeps arriving.
      return db.transaction((): UsageStats => {
        const total = totals.get()!;
        return {
          users: countUsers.get()!,
          api_keys: countActiveKeys.get(now())!,
          requests: total.requests,
          requests_by_status: Object.fromEntries(byStatus.all().map((row) => [String(row.status), row.requests])),
          tokens: { prompt: total.prompt, completion: total.completion },
          cache_hits: total.cache_hits,
          per_model: byModel.all(),
          per_key: byKey.all(perKeyLimit),
        };
      })();
    },
  };
}
