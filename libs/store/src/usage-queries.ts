import type { Database } from "./open-database.js";
import type { UsageKind } from "./usage-repository.js";

/** Which rows of the usage log: every field optional; `from` inclusive and `to` exclusive, unix seconds. */
export interface UsageFilter {
  keyId?: string;
  userId?: string;
  model?: string;
  from?: number;
  to?: number;
}

/** One row of the usage log as the admin API lists it. */
export interface UsageRowView {
  id: number;
  created_at: number;
  key_id: string;
  key_name: string | null;
  user_id: string | null;
  model: string;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  latency_ms: number;
  status: number;
  cache_hit: boolean;
  job_id: string | null;
  request_id: string;
  kind: UsageKind;
}

export type UsageBucket = "hour" | "day";
export type UsageGroup = "none" | "model" | "key";

/** One time bucket of one group (a model, a key id, or "all"). */
export interface UsagePoint {
  /** Unix seconds at the bucket's start (in the caller's time zone for days). */
  bucket: number;
  group: string;
  requests: number;
  errors: number;
  cache_hits: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface UsageSeriesOptions {
  bucket: UsageBucket;
  groupBy: UsageGroup;
  /** Minutes east of UTC of the reader's time zone, so days start at its midnight. */
  utcOffsetMinutes?: number;
}

const BUCKET_SECONDS: Record<UsageBucket, number> = { hour: 3600, day: 86_400 };
const GROUP_COLUMN: Record<UsageGroup, string> = { none: "'all'", model: "u.model", key: "u.key_id" };

/** The WHERE clause and its parameters for a filter (only bound parameters, never spliced text). */
function whereOf(filter: UsageFilter): { sql: string; params: (string | number)[] } {
  const clauses: string[] = [];
  const params: (string | number)[] = [];
  const add = (clause: string, value: string | number | undefined) => {
    if (value === undefined) return;
    clauses.push(clause);
    params.push(value);
  };
  add("u.key_id = ?", filter.keyId);
  add("u.user_id = ?", filter.userId);
  add("u.model = ?", filter.model);
  add("u.created_at >= ?", filter.from);
  add("u.created_at < ?", filter.to);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** Reads of the usage log for the console: filtered rows, newest first, and time series. */
export function createUsageQueries(db: Database) {
  return {
    /** Rows matching the filter, newest first, at most `limit`. */
    list(filter: UsageFilter, options: { limit: number }): UsageRowView[] {
      const where = whereOf(filter);
      const rows = db
        .prepare(
          `SELECT u.id, u.created_at, u.key_id, k.key_name, u.user_id, u.model, u.provider, u.prompt_tokens,
             u.completion_tokens, u.latency_ms, u.status, u.cache_hit, u.job_id, u.request_id, u.kind
           FROM usage_log u LEFT JOIN api_keys k ON k.id = u.key_id
           ${where.sql} ORDER BY u.created_at DESC, u.id DESC LIMIT ?`,
        )
        .all(...where.params, options.limit) as (Omit<UsageRowView, "cache_hit"> & { cache_hit: number })[];
      return rows.map((row) => ({ ...row, cache_hit: row.cache_hit === 1 }));
    },

    /** Requests, errors (status >= 400), cache hits and tokens per bucket and group, oldest bucket first. */
    series(filter: UsageFilter, options: UsageSeriesOptions): UsagePoint[] {
      const size = BUCKET_SECONDS[options.bucket];
      const minutes = options.bucket === "day" ? Math.round(options.utcOffsetMinutes ?? 0) : 0;
      const offset = Number.isSafeInteger(minutes) ? Math.max(-1440, Math.min(1440, minutes)) * 60 : 0;
      const where = whereOf(filter);
      const group = GROUP_COLUMN[options.groupBy];
      return db
        .prepare(
          // Written in, not bound: better-sqlite3 binds numbers as REAL, which would make the division fractional.
          // Both are whole numbers from this function (a constant and a rounded offset).
          `SELECT ((u.created_at + ${offset}) / ${size}) * ${size} - ${offset} AS bucket, ${group} AS "group", count(*) AS requests,
             coalesce(sum(u.status >= 400), 0) AS errors, coalesce(sum(u.cache_hit), 0) AS cache_hits,
             coalesce(sum(u.prompt_tokens), 0) AS prompt_tokens, coalesce(sum(u.completion_tokens), 0) AS completion_tokens
           FROM usage_log u ${where.sql}
           GROUP BY bucket, "group" ORDER BY bucket, "group"`,
        )
        .all(...where.params) as UsagePoint[];
    },
  };
}

export type UsageQueries = ReturnType<typeof createUsageQueries>;
