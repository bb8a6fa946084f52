import type { UsageKind } from "./usage-repository.js";

/** Which rows of the usage log: every field optional; `from` inclusive and `to` exclusive, unix seconds. */
export interface UsageFilter {
  keyId?: string;
  userId?: string;
  model?: string;
  channel?: string;
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
  /** The upstream channel that served it; null for cache hits, cancels and entries older than channels. */
  channel: string | null;
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
export type UsageGroup = "none" | "model" | "key" | "channel";

/** The group of rows no channel served (cache hits, cancels, entries older than channels). */
export const NO_CHANNEL_GROUP = "(none)";

/** One time bucket of one group (a model, a key id, a channel, or "all"). */
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

/** The two reads of the usage log behind the console, in both databases (usage-repository.ts, pg-usage-repository.ts). */
export interface UsageQueries {
  /** Rows matching the filter, newest first, at most `limit`. */
  list(filter: UsageFilter, options: { limit: number }): Promise<UsageRowView[]>;
  /** Requests, errors (status >= 400), cache hits and tokens per bucket and group, oldest bucket first. */
  series(filter: UsageFilter, options: UsageSeriesOptions): Promise<UsagePoint[]>;
}

export type SqlDialect = "sqlite" | "postgres";

const BUCKET_SECONDS: Record<UsageBucket, number> = { hour: 3600, day: 86_400 };
const GROUP_COLUMN: Record<UsageGroup, string> = {
  none: "'all'",
  model: "u.model",
  key: "u.key_id",
  channel: `coalesce(u.channel, '${NO_CHANNEL_GROUP}')`,
};
// usage_log.key_id is text ('1', 'static-…'). SQLite compares it with the INTEGER k.id only when it
// is exactly a number, using k.id's index; PostgreSQL compares text with text.
const KEY_JOIN: Record<SqlDialect, string> = { sqlite: "k.id = u.key_id", postgres: "k.id::text = u.key_id" };

/** The WHERE clause and its parameters for a filter (only bound parameters, never spliced text). */
function whereOf(dialect: SqlDialect, filter: UsageFilter, params: (string | number)[]): string {
  const clauses: string[] = [];
  const add = (column: string, value: string | number | undefined, operator = "=") => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(`${column} ${operator} ${dialect === "sqlite" ? "?" : `$${params.length}`}`);
  };
  add("u.key_id", filter.keyId);
  add("u.user_id", filter.userId);
  add("u.model", filter.model);
  add("u.channel", filter.channel);
  add("u.created_at", filter.from, ">=");
  add("u.created_at", filter.to, "<");
  return clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "";
}

/** The statement and parameters of `list`; its rows go through `toRowView`. */
export function usageListQuery(dialect: SqlDialect, filter: UsageFilter, limit: number) {
  const params: (string | number)[] = [];
  const where = whereOf(dialect, filter, params);
  params.push(limit);
  const sql = `SELECT u.id, u.created_at, u.key_id, k.key_name, u.user_id, u.model, u.provider, u.channel, u.prompt_tokens,
      u.completion_tokens, u.latency_ms, u.status, u.cache_hit, u.job_id, u.request_id, u.kind
    FROM usage_log u LEFT JOIN api_keys k ON ${KEY_JOIN[dialect]}
    ${where} ORDER BY u.created_at DESC, u.id DESC LIMIT ${dialect === "sqlite" ? "?" : `$${params.length}`}`;
  return { sql, params };
}

/** A listed row: cache_hit is 0/1 in SQLite and a boolean in PostgreSQL. */
export function toRowView(row: Omit<UsageRowView, "cache_hit"> & { cache_hit: number | boolean }): UsageRowView {
  return { ...row, cache_hit: row.cache_hit === true || row.cache_hit === 1 };
}

/** The statement and parameters of `series`. */
export function usageSeriesQuery(dialect: SqlDialect, filter: UsageFilter, options: UsageSeriesOptions) {
  const size = BUCKET_SECONDS[options.bucket];
  const minutes = options.bucket === "day" ? Math.round(options.utcOffsetMinutes ?? 0) : 0;
  const offset = Number.isSafeInteger(minutes) ? Math.max(-1440, Math.min(1440, minutes)) * 60 : 0;
  const params: (string | number)[] = [];
  const where = whereOf(dialect, filter, params);
  // The bucket size and offset are written in, not bound: better-sqlite3 binds numbers as REAL, which
  // would make the division fractional. Both are whole numbers from this function (a constant and a
  // rounded, clamped offset). CASE rather than FILTER or a boolean sum: the same text runs on both.
  const sql = `SELECT ((u.created_at + ${offset}) / ${size}) * ${size} - ${offset} AS bucket, ${GROUP_COLUMN[options.groupBy]} AS "group",
      count(*) AS requests, coalesce(sum(CASE WHEN u.status >= 400 THEN 1 ELSE 0 END), 0) AS errors,
      coalesce(sum(CASE WHEN u.cache_hit THEN 1 ELSE 0 END), 0) AS cache_hits,
      coalesce(sum(u.prompt_tokens), 0) AS prompt_tokens, coalesce(sum(u.completion_tokens), 0) AS completion_tokens
    FROM usage_log u ${where}
    GROUP BY 1, 2 ORDER BY 1, 2`;
  return { sql, params };
}
