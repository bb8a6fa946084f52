import { systemClock, type Clock } from "../clock.js";
import { toRowView, usageListQuery, usageSeriesQuery, type UsagePoint } from "../usage-queries.js";
import { toUsageRow, type TokenCounts, type UsageEntry, type UsageRepository, type UsageStats } from "../usage-repository.js";
import { inTransaction, mapPgError, pgQuery, type PgPool } from "./pg-database.js";

// One column of arrays per field: a batch of any size is one statement with 14 parameters.
const insertBatch = `
  INSERT INTO usage_log (created_at, key_id, user_id, model, provider, prompt_tokens, completion_tokens,
    latency_ms, status, cache_hit, job_id, request_id, kind, channel)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::integer[],
    $8::integer[], $9::integer[], $10::boolean[], $11::text[], $12::text[], $13::text[], $14::text[])
  ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING
  RETURNING job_id`;

/**
 * Every figure from usage_totals (a row per key, model and status, kept by the log's triggers), in one
 * pass: the grouping sets give the totals, each status, each model and each key. It never scans the log,
 * so it takes the same few milliseconds at a million rows as at ten.
 */
const aggregates = `
  SELECT GROUPING(status) AS by_status, GROUPING(model) AS by_model, GROUPING(key_id) AS by_key, status, model, key_id,
    coalesce(sum(requests), 0)::bigint AS requests, coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
    coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens, coalesce(sum(cache_hits), 0)::bigint AS cache_hits
  FROM usage_totals GROUP BY GROUPING SETS ((), (status), (model), (key_id))`;

interface AggregateRow extends TokenCounts {
  by_status: number;
  by_model: number;
  by_key: number;
  status: number | null;
  model: string | null;
  key_id: string | null;
  cache_hits: number;
}

const byRequestsThen = <T extends { requests: number }>(name: (row: T) => string) => (a: T, b: T) =>
  b.requests - a.requests || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);

/** The usage log in PostgreSQL; batches are one multi-row INSERT, stats read the running totals. Same answers as SQLite. */
export function createPgUsageRepository(pool: PgPool, options: { now?: Clock; perKeyLimit?: number } = {}): UsageRepository {
  const now = options.now ?? systemClock;
  const perKeyLimit = options.perKeyLimit ?? 100;

  async function recordAll<E extends UsageEntry>(entries: E[]): Promise<E[]> {
    // Within a batch the first report of a job counts, as in SQLite's row-by-row INSERT OR IGNORE.
    const seenJobs = new Set<string>();
    const batch = entries.filter((entry) => {
      if (entry.jobId == null) return true;
      if (seenJobs.has(entry.jobId)) return false;
      seenJobs.add(entry.jobId);
      return true;
    });
    if (batch.length === 0) return [];
    const rows = batch.map((entry) => toUsageRow(entry, now));
    const column = <K extends keyof (typeof rows)[number]>(name: K) => rows.map((row) => row[name]);
    const { rows: inserted } = await pgQuery<{ job_id: string | null }>(pool, insertBatch, [
      column("created_at"), column("key_id"), column("user_id"), column("model"), column("provider"),
      column("prompt_tokens"), column("completion_tokens"), column("latency_ms"), column("status"),
      rows.map((row) => row.cache_hit === 1), column("job_id"), column("request_id"), column("kind"), column("channel"),
    ]);
    const newJobs = new Set(inserted.map((row) => row.job_id).filter((id) => id !== null));
    return batch.filter((entry) => entry.jobId == null || newJobs.has(entry.jobId));
  }

  return {
    record: async (entry) => (await recordAll([entry])).length === 1,
    recordAll,
    async pruneBefore(cutoff, limit) {
      const { rowCount } = await pgQuery(
        pool,
        "DELETE FROM usage_log WHERE id IN (SELECT id FROM usage_log WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
        [cutoff, limit],
      );
      return rowCount ?? 0;
    },
    async list(filter, options) {
      const { sql, params } = usageListQuery("postgres", filter, options.limit);
      return (await pgQuery<Parameters<typeof toRowView>[0]>(pool, sql, params)).rows.map(toRowView);
    },
    async series(filter, options) {
      const { sql, params } = usageSeriesQuery("postgres", filter, options);
      return (await pgQuery<UsagePoint>(pool, sql, params)).rows;
    },
    async stats() {
      // One snapshot, so the figures agree with each other while usage keeps arriving.
      return inTransaction(pool, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", async (client) => {
        const at = now();
        const counts = await client.query<{ users: number; api_keys: number }>(
          `SELECT (SELECT count(*) FROM users) AS users,
             (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)) AS api_keys`,
          [at],
        );
        const groups = (await client.query<AggregateRow>(aggregates)).rows;
        const total = groups.find((row) => row.by_status && row.by_model && row.by_key)!;
        const tokens = (row: AggregateRow): TokenCounts => ({
          requests: row.requests,
          prompt_tokens: row.prompt_tokens,
          completion_tokens: row.completion_tokens,
        });
        const perKey = groups
          .filter((row) => !row.by_key)
          .sort(byRequestsThen((row) => row.key_id!))
          .slice(0, perKeyLimit);
        // usage_log.key_id is text: a database key's id as written ('1'); anything else (static-…) has no row.
        const ids = perKey.map((row) => row.key_id!).filter((id) => /^[1-9][0-9]{0,15}$/.test(id)).map(Number);
        const keys = new Map(
          (
            await client.query<{ id: number; key_name: string; user_id: number }>(
              "SELECT id, key_name, user_id FROM api_keys WHERE id = ANY($1::bigint[])",
              [ids],
            )
          ).rows.map((key) => [String(key.id), key]),
        );
        return {
          users: counts.rows[0].users,
          api_keys: counts.rows[0].api_keys,
          requests: total.requests,
          requests_by_status: Object.fromEntries(
            groups
              .filter((row) => !row.by_status)
              .sort((a, b) => a.status! - b.status!)
              .map((row) => [String(row.status), row.requests]),
          ),
          tokens: { prompt: total.prompt_tokens, completion: total.completion_tokens },
          cache_hits: total.cache_hits,
          per_model: groups
            .filter((row) => !row.by_model)
            .sort(byRequestsThen((row) => row.model!))
            .map((row) => ({ model: row.model!, ...tokens(row) })),
          per_key: perKey.map((row) => {
            const key = keys.get(row.key_id!);
            return { key_id: key?.id ?? row.key_id!, key_name: key?.key_name ?? null, user_id: key?.user_id ?? null, ...tokens(row) };
          }),
        } satisfies UsageStats;
      }).catch((error) => {
        throw mapPgError(error);
      });
    },
  };
}
