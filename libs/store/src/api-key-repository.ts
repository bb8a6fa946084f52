import BetterSqlite3 from "better-sqlite3";
import { GatewayError } from "@llmgw/errors";
import { generateApiKey } from "./api-key-secret.js";
import { systemClock, type Clock } from "./clock.js";
import { optionalExpiry, optionalLimit, optionalModels, requireId, requireText } from "./input-checks.js";
import type { Database } from "./open-database.js";

/** A key as the admin API lists it: never the key, never its hash. Times are unix seconds. */
export interface ApiKeyRecord {
  /** 1, 2, 3…, never reused. Elsewhere (job owners, Redis, usage log) the key is known by `String(id)`. */
  id: number;
  user_id: number;
  key_name: string;
  /** The first characters of the key (`gw-` + 7), enough to recognise it, useless to use it. */
  key_prefix: string;
  /** null = the gateway's default (RATE_LIMIT_PER_MINUTE / RATE_LIMIT_PER_HOUR). */
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
  /** Models the key may use; null = every model. */
  models: string[] | null;
  expires_at: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** The answer to a creation: the record plus the key itself, the only time it is ever shown. */
export interface CreatedApiKey extends ApiKeyRecord {
  api_key: string;
}

export interface NewApiKey {
  user_id: number;
  key_name: string;
  rate_limit_per_minute?: number | null;
  rate_limit_per_hour?: number | null;
  /** Unix time in seconds; must be in the future. */
  expires_at?: number | null;
  models?: string[] | null;
}

/** What authentication needs of a usable key, hash included for the final constant-time check. */
export interface ActiveApiKey {
  id: number;
  user_id: number;
  key_name: string;
  key_hash: string;
  rate_limit_per_minute: number | null;
  rate_limit_per_hour: number | null;
  models: string[] | null;
  expires_at: number | null;
}

export interface ApiKeyRepository {
  /** Throws GatewayError `invalid_request` for bad fields or a `user_id` that does not exist. */
  create(input: NewApiKey): Promise<CreatedApiKey>;
  /** The key with this hash if it is usable now: not revoked, not expired, its user active. */
  findActiveByHash(hash: string): Promise<ActiveApiKey | null>;
  /** Keys oldest first; revoked ones only with `includeRevoked`. */
  list(filter?: { userId?: number; includeRevoked?: boolean }): Promise<ApiKeyRecord[]>;
  get(id: number): Promise<ApiKeyRecord | null>;
  /** Revokes a key; false when there is no such key or it was already revoked. */
  revoke(id: number): Promise<boolean>;
  /** Stamps `last_used_at` of these keys with the current time, in one transaction. */
  markUsed(ids: readonly number[]): Promise<void>;
}

/** A key as stored: models as JSON text, the hash, never the key. */
export interface ApiKeyRow extends Omit<ApiKeyRecord, "models"> {
  key_hash: string;
  models: string | null;
}

/** A new key's row from admin input (checked here, for both databases) and the key itself, shown once. */
export function newApiKeyRow(input: NewApiKey, createdAt: number): { row: Omit<ApiKeyRow, "id">; models: string[] | null; key: string } {
  const models = optionalModels(input.models, "models");
  const secret = generateApiKey();
  const row: Omit<ApiKeyRow, "id"> = {
    user_id: requireId(input.user_id, "user_id"),
    key_name: requireText(input.key_name, "key_name"),
    key_prefix: secret.prefix,
    key_hash: secret.hash,
    rate_limit_per_minute: optionalLimit(input.rate_limit_per_minute, "rate_limit_per_minute"),
    rate_limit_per_hour: optionalLimit(input.rate_limit_per_hour, "rate_limit_per_hour"),
    models: models === null ? null : JSON.stringify(models),
    expires_at: optionalExpiry(input.expires_at, "expires_at", createdAt),
    created_at: createdAt,
    last_used_at: null,
    revoked_at: null,
  };
  return { row, models, key: secret.key };
}

/** The creation's answer: the record without the hash, plus the key. */
export function createdApiKey(id: number, created: ReturnType<typeof newApiKeyRow>): CreatedApiKey {
  const { key_hash: _hash, ...record } = created.row;
  return { id, ...record, models: created.models, api_key: created.key };
}

/** The answer to a `user_id` with no user, in both databases. */
export const unknownUser = (userId: number) => new GatewayError("invalid_request", { message: `No user with id ${userId}.`, param: "user_id" });

// Listing columns name every field but key_hash, so a hash cannot leak through a list by accident.
export const publicColumns =
  "id, user_id, key_name, key_prefix, rate_limit_per_minute, rate_limit_per_hour, models, expires_at, created_at, last_used_at, revoked_at";

export const parseModels = (models: string | null): string[] | null => (models === null ? null : (JSON.parse(models) as string[]));

/** API keys in SQLite, stored as SHA-256 hashes (see hashApiKey for why a fast hash). */
export function createApiKeyRepository(db: Database, options: { now?: Clock } = {}): ApiKeyRepository {
  const now = options.now ?? systemClock;
  const insert = db.prepare<[Omit<ApiKeyRow, "id">]>(
    `INSERT INTO api_keys (user_id, key_name, key_prefix, key_hash, rate_limit_per_minute, rate_limit_per_hour,
       models, expires_at, created_at, last_used_at, revoked_at)
     VALUES (@user_id, @key_name, @key_prefix, @key_hash, @rate_limit_per_minute, @rate_limit_per_hour,
       @models, @expires_at, @created_at, @last_used_at, @revoked_at)`,
  );
  const selectActive = db.prepare<[string, number], Omit<ActiveApiKey, "models"> & { models: string | null }>(
    `SELECT k.id, k.user_id, k.key_name, k.key_hash, k.rate_limit_per_minute, k.rate_limit_per_hour, k.models, k.expires_at
     FROM api_keys k JOIN users u ON u.id = k.user_id
     WHERE k.key_hash = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) AND u.is_active = 1`,
  );
  type PublicRow = Omit<ApiKeyRow, "key_hash">;
  const selectList = db.prepare<{ user_id: number | null; include_revoked: number }, PublicRow>(
    `SELECT ${publicColumns} FROM api_keys
     WHERE (@user_id IS NULL OR user_id = @user_id) AND (@include_revoked = 1 OR revoked_at IS NULL)
     ORDER BY created_at, id`,
  );
  const selectOne = db.prepare<[number], PublicRow>(`SELECT ${publicColumns} FROM api_keys WHERE id = ?`);
  const revokeOne = db.prepare<[number, number]>("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  const touch = db.prepare<[number, number]>("UPDATE api_keys SET last_used_at = ? WHERE id = ?");

  const toRecord = (row: PublicRow): ApiKeyRecord => ({ ...row, models: parseModels(row.models) });
  const markUsedInOneTransaction = db.transaction((ids: readonly number[]) => {
    const at = now();
    for (const id of ids) touch.run(at, id);
  });

  return {
    async create(input) {
      const created = newApiKeyRow(input, now());
      let id: number;
      try {
        id = Number(insert.run(created.row).lastInsertRowid);
      } catch (error) {
        if (error instanceof BetterSqlite3.SqliteError && error.code === "SQLITE_CONSTRAINT_FOREIGNKEY") throw unknownUser(created.row.user_id);
        throw error;
      }
      return createdApiKey(id, created);
    },
    async findActiveByHash(hash) {
      const row = selectActive.get(hash, now());
      return row ? { ...row, models: parseModels(row.models) } : null;
    },
    async list(filter = {}) {
      return selectList
        .all({ user_id: filter.userId ?? null, include_revoked: filter.includeRevoked ? 1 : 0 })
        .map(toRecord);
    },
    async get(id) {
      const row = selectOne.get(id);
      return row ? toRecord(row) : null;
    },
    revoke: async (id) => revokeOne.run(now(), id).changes === 1,
    async markUsed(ids) {
      markUsedInOneTransaction(ids);
    },
  };
}
