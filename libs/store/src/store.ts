import { createApiKeyRepository, type ApiKeyRepository } from "./api-key-repository.js";
import type { Clock } from "./clock.js";
import { openDatabase, type Database } from "./open-database.js";
import { createPgApiKeyRepository } from "./postgres/pg-api-key-repository.js";
import { createPgPool, migratePostgres, pgQuery, type PgPool } from "./postgres/pg-database.js";
import { createPgUsageRepository } from "./postgres/pg-usage-repository.js";
import { createPgUserRepository } from "./postgres/pg-user-repository.js";
import { createUsageRepository, type UsageRepository } from "./usage-repository.js";
import { createUserRepository, type UserRepository } from "./user-repository.js";

/** Users, keys and usage behind one interface, whichever database holds them. */
export interface Store {
  readonly dialect: "sqlite" | "postgres";
  users: UserRepository;
  apiKeys: ApiKeyRepository;
  usage: UsageRepository;
  /** Resolves when the database answers a query (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Tests move time. */
  now?: Clock;
  /** How many keys `stats().per_key` lists. */
  perKeyLimit?: number;
}

/** The SQLite store on the file at `path` (`:memory:` for a private in-memory one); `db` is for tests and tools. */
export function openSqliteStore(path: string, options: StoreOptions = {}): Store & { db: Database } {
  const db = openDatabase(path);
  return {
    dialect: "sqlite",
    db,
    users: createUserRepository(db, options),
    apiKeys: createApiKeyRepository(db, options),
    usage: createUsageRepository(db, options),
    ping: async () => void db.prepare("SELECT 1").get(),
    close: async () => void (db.open && db.close()),
  };
}

/**
 * The PostgreSQL store at `url`, its schema brought up to date first (under a lock, so API processes
 * starting at once do not race); `pool` is for tests and tools.
 */
export async function openPostgresStore(url: string, options: StoreOptions & { poolSize?: number } = {}): Promise<Store & { pool: PgPool }> {
  const pool = createPgPool(url, { max: options.poolSize });
  try {
    await migratePostgres(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  let closed = false;
  return {
    dialect: "postgres",
    pool,
    users: createPgUserRepository(pool, options),
    apiKeys: createPgApiKeyRepository(pool, options),
    usage: createPgUsageRepository(pool, options),
    ping: async () => void (await pgQuery(pool, "SELECT 1")),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** PostgreSQL when `databaseUrl` is set (DATABASE_URL), else the SQLite file at `databasePath` (DATABASE_PATH). */
export async function openStore(
  config: { databasePath: string; databaseUrl?: string; databasePoolSize?: number },
  options: StoreOptions = {},
): Promise<Store> {
  if (config.databaseUrl) return openPostgresStore(config.databaseUrl, { ...options, poolSize: config.databasePoolSize });
  return openSqliteStore(config.databasePath, options);
}
