import pg from "pg";
import { GatewayError } from "@llmgw/errors";
import { postgresMigrations } from "../migrations.js";

/** A pg connection pool, as every PostgreSQL repository of this lib takes it. */
export type PgPool = pg.Pool;

// bigint (int8) columns and count(*) come back as numbers: ids, times and counts stay far below 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** SQLSTATE classes and codes that mean "the database cannot be reached now", answered 503. */
function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string") return error instanceof Error && /timeout|terminated|Connection ended/i.test(error.message);
  return /^(08|57P0[1-3]|53300)/.test(code) || ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EHOSTUNREACH", "EPIPE"].includes(code);
}

/** A driver error as the gateway answers it: unreachable = 503 `service_unavailable`, anything else as it is. */
export function mapPgError(error: unknown): unknown {
  return isUnreachable(error) ? new GatewayError("service_unavailable", { cause: error }) : error;
}

/** True when `error` is PostgreSQL refusing a row that breaks the constraint named `constraint`. */
export function violates(error: unknown, sqlstate: "23505" | "23503", constraint: string): boolean {
  const { code, constraint: name } = error as { code?: unknown; constraint?: unknown };
  return code === sqlstate && name === constraint;
}

/**
 * A pool on `url` (a `postgres://` URL). Connections time out after 2 s so an unreachable server answers
 * 503 in time rather than hanging a request; idle ones are closed after 30 s.
 */
export function createPgPool(url: string, options: { max?: number } = {}): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30_000,
    types,
    application_name: "llm-gateway",
  });
  // An idle connection the server drops (restart, failover) must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  return pool;
}

// Any constant will do, as long as every release uses the same: "llmgw" as a number.
const MIGRATION_LOCK = 0x6c6c6d6777;

/**
 * Brings the schema up to date in one transaction, under an advisory lock: API processes starting at
 * once take turns, and each one after the first finds the schema applied. The version of each step
 * applied is a row of `schema_migrations`.
 */
export async function migratePostgres(pool: PgPool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
    const { rows } = await client.query<{ version: number }>("SELECT coalesce(max(version), 0) AS version FROM schema_migrations");
    const current = rows[0].version;
    if (current > postgresMigrations.length) {
      throw new Error(
        `database schema version ${current} is newer than this release knows (${postgresMigrations.length}); upgrade the gateway`,
      );
    }
    for (let version = current; version < postgresMigrations.length; version++) {
      if (postgresMigrations[version].trim() !== "") await client.query(postgresMigrations[version]);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [
        version + 1,
        Math.floor(Date.now() / 1000),
      ]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Runs `work` in one transaction on one connection of the pool. */
export async function inTransaction<T>(pool: PgPool, begin: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** One query on the pool; an unreachable database becomes 503 `service_unavailable`. */
export async function pgQuery<R extends pg.QueryResultRow>(pool: PgPool | pg.PoolClient, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(text, values);
  } catch (error) {
    throw mapPgError(error);
  }
}
