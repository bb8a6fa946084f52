import BetterSqlite3 from "better-sqlite3";
import { GatewayError } from "@llmgw/errors";
import { generateApiKey } from "./api-key-secret.js";
import { systemClock, type Clock } from "./clock.js";
import { optionalAllowedIps, optionalExpiry, optionalLimit, optionalModels, requireBoolean, requireId, requireText } from "./input-checks.js";
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
  /** Client addresses and CIDRs the key may be used from; null = anywhere. */
  allowed_ips: string[] | null;
  /** False while an admin has switched the key off (PATCH); unlike a revocation, it can be switched on again. */
  is_active: boolean;
  /** Prompt + completion tokens the key may spend per UTC day and per UTC month; null = no budget. */
  token_budget_daily: number | null;
  token_budget_monthly: number | null;
  /** How many of the key's requests may run upstream at once, across all workers; null = no cap. */
  max_concurrent: number | null;
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
  allowed_ips?: string[] | null;
  token_budget_daily?: number | null;
  token_budget_monthly?: number | null;
  max_concurrent?: number | null;
}

/** What PATCH may change; an absent field keeps its value, null clears it (back to the default). */
export interface ApiKeyChanges {
  key_name?: string;
  rate_limit_per_minute?: number | null;
  rate_limit_per_hour?: number | null;
  models?: string[] | null;
  expires_at?: number | null;
  allowed_ips?: string[] | null;
  token_budget_daily?: number | null;
  token_budget_monthly?: number | null;
  max_concurrent?: number | null;
  is_active?: boolean;
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
  allowed_ips: string[] | null;
  token_budget_daily: number | null;
  token_budget_monthly: number | null;
  max_concurrent: number | null;
  /** The budgets of the key's user. */
  user_token_budget_daily: number | null;
  user_token_budget_monthly: number | null;
}

export interface ApiKeyRepository {
  /** Throws GatewayError `invalid_request` for bad fields or a `user_id` that does not exist. */
  create(input: NewApiKey): Promise<CreatedApiKey>;
  /** The key with this hash if it is usable now: not revoked, switched on, not expired, its user active. */
  findActiveByHash(hash: string): Promise<ActiveApiKey | null>;
  /** The same for a key id (a client token names its key by id). */
  findActiveById(id: number): Promise<ActiveApiKey | null>;
  /** Keys oldest first; revoked ones only with `includeRevoked`. */
  list(filter?: { userId?: number; includeRevoked?: boolean }): Promise<ApiKeyRecord[]>;
  get(id: number): Promise<ApiKeyRecord | null>;
  /**
   * Changes a key's fields; null when there is no such key. Throws GatewayError `invalid_request`
   * for bad fields or a revoked key (a revocation is final).
   */
  update(id: number, changes: ApiKeyChanges): Promise<ApiKeyRecord | null>;
  /** Revokes a key; false when there is no such key or it was already revoked. */
  revoke(id: number): Promise<boolean>;
  /** Stamps `last_used_at` of these keys with the current time, in one transaction. */
  markUsed(ids: readonly number[]): Promise<void>;
}

/** A key as stored: models and allowed IPs as JSON text, is_active 0/1 (SQLite) or a boolean (PostgreSQL), the hash, never the key. */
export interface ApiKeyRow extends Omit<ApiKeyRecord, "models" | "allowed_ips" | "is_active"> {
  key_hash: string;
  models: string | null;
  allowed_ips: string | null;
  is_active: number | boolean;
}

const jsonOrNull = (list: string[] | null) => (list === null ? null : JSON.stringify(list));

/** The columns a PATCH sets, checked here for both databases (`now` for the expiry check). */
export function apiKeyChangeColumns(changes: ApiKeyChanges, now: number): Record<string, string | number | boolean | null> {
  const columns: Record<string, string | number | boolean | null> = {};
  const set = (field: keyof ApiKeyChanges, check: (value: unknown, param: string) => string | number | boolean | null) => {
    if (changes[field] !== undefined) columns[field] = check(changes[field], field);
  };
  set("key_name", requireText);
  set("rate_limit_per_minute", optionalLimit);
  set("rate_limit_per_hour", optionalLimit);
  set("models", (value, param) => jsonOrNull(optionalModels(value, param)));
  set("expires_at", (value, param) => optionalExpiry(value, param, now));
  set("allowed_ips", (value, param) => jsonOrNull(optionalAllowedIps(value, param)));
  set("token_budget_daily", optionalLimit);
  set("token_budget_monthly", optionalLimit);
  set("max_concurrent", optionalLimit);
  set("is_active", requireBoolean);
  return columns;
}

/** The answer to a PATCH of a revoked key, in both databases. */
export const revokedKey = (id: number) =>
  new GatewayError("invalid_request", { message: `The API key ${id} is revoked; a revoked key cannot change.`, param: "id" });

/** A new key's row from admin input (checked here, for both databases) and the key itself, shown once. */
export function newApiKeyRow(input: NewApiKey, createdAt: number): { row: Omit<ApiKeyRow, "id">; models: string[] | null; allowedIps: string[] | null; key: string } {
  const models = optionalModels(input.models, "models");
  const allowedIps = optionalAllowedIps(input.allowed_ips, "allowed_ips");
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
    allowed_ips: jsonOrNull(allowedIps),
    is_active: 1,
    token_budget_daily: optionalLimit(input.token_budget_daily, "token_budget_daily"),
    token_budget_monthly: optionalLimit(input.token_budget_monthly, "token_budget_monthly"),
    max_concurrent: optionalLimit(input.max_concurrent, "max_concurrent"),
    created_at: createdAt,
    last_used_at: null,
    revoked_at: null,
  };
  return { row, models, allowedIps, key: secret.key };
}

/** The creation's answer: the record without the hash, plus the key. */
export function createdApiKey(id: number, created: ReturnType<typeof newApiKeyRow>): CreatedApiKey {
  const { key_hash: _hash, ...record } = created.row;
  return { id, ...record, models: created.models, allowed_ips: created.allowedIps, is_active: true, api_key: created.key };
}

/** The answer to a `user_id` with no user, in both databases. */
export const unknownUser = (userId: number) => new GatewayError("invalid_request", { message: `No user with id ${userId}.`, param: "user_id" });

// Listing columns name every field but key_hash, so a hash cannot leak through a list by accident.
export const publicColumns =
  "id, user_id, key_name, key_prefix, rate_limit_per_minute, rate_limit_per_hour, models, expires_at, allowed_ips, is_active, " +
  "token_budget_daily, token_budget_monthly, max_concurrent, created_at, last_used_at, revoked_at";

/** What authentication reads of a usable key (`k`) and its user (`u`), in both databases. */
export const activeColumns =
  "k.id, k.user_id, k.key_name, k.key_hash, k.rate_limit_per_minute, k.rate_limit_per_hour, k.models, k.expires_at, k.allowed_ips, " +
  "k.token_budget_daily, k.token_budget_monthly, k.max_concurrent, " +
  "u.token_budget_daily AS user_token_budget_daily, u.token_budget_monthly AS user_token_budget_monthly";

export const parseList = (list: string | null): string[] | null => (list === null ? null : (JSON.parse(list) as string[]));

/** A stored row without its hash, as the admin API shows it. */
export const toApiKeyRecord = (row: Omit<ApiKeyRow, "key_hash">): ApiKeyRecord => ({
  ...row,
  models: parseList(row.models),
  allowed_ips: parseList(row.allowed_ips),
  is_active: row.is_active === true || row.is_active === 1,
});

/** A usable key as stored, as authentication needs it. */
export const toActiveApiKey = (row: Omit<ActiveApiKey, "models" | "allowed_ips"> & { models: string | null; allowed_ips: string | null }): ActiveApiKey => ({
  ...row,
  models: parseList(row.models),
  allowed_ips: parseList(row.allowed_ips),
});

/** API keys in SQLite, stored as SHA-256 hashes (see hashApiKey for why a fast hash). */
export function createApiKeyRepository(db: Database, options: { now?: Clock } = {}): ApiKeyRepository {
  const now = options.now ?? systemClock;
  const insert = db.prepare<[Omit<ApiKeyRow, "id">]>(
    `INSERT INTO api_keys (user_id, key_name, key_prefix, key_hash, rate_limit_per_minute, rate_limit_per_hour,
       models, expires_at, allowed_ips, is_active, token_budget_daily, token_budget_monthly, max_concurrent, created_at, last_used_at, revoked_at)
     VALUES (@user_id, @key_name, @key_prefix, @key_hash, @rate_limit_per_minute, @rate_limit_per_hour,
       @models, @expires_at, @allowed_ips, @is_active, @token_budget_daily, @token_budget_monthly, @max_concurrent, @created_at, @last_used_at, @revoked_at)`,
  );
  const selectActiveKeys = `SELECT ${activeColumns}
     FROM api_keys k JOIN users u ON u.id = k.user_id
     WHERE k.revoked_at IS NULL AND k.is_active = 1 AND (k.expires_at IS NULL OR k.expires_at > @now) AND u.is_active = 1`;
  const selectActive = db.prepare<{ hash: string; now: number }, Parameters<typeof toActiveApiKey>[0]>(`${selectActiveKeys} AND k.key_hash = @hash`);
  const selectActiveById = db.prepare<{ id: number; now: number }, Parameters<typeof toActiveApiKey>[0]>(`${selectActiveKeys} AND k.id = @id`);
  type PublicRow = Omit<ApiKeyRow, "key_hash">;
  const selectList = db.prepare<{ user_id: number | null; include_revoked: number }, PublicRow>(
    `SELECT ${publicColumns} FROM api_keys
     WHERE (@user_id IS NULL OR user_id = @user_id) AND (@include_revoked = 1 OR revoked_at IS NULL)
     ORDER BY created_at, id`,
  );
  const selectOne = db.prepare<[number], PublicRow>(`SELECT ${publicColumns} FROM api_keys WHERE id = ?`);
  const revokeOne = db.prepare<[number, number]>("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  const touch = db.prepare<[number, number]>("UPDATE api_keys SET last_used_at = ? WHERE id = ?");

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
      const row = selectActive.get({ hash, now: now() });
      return row ? toActiveApiKey(row) : null;
    },
    async findActiveById(id) {
      const row = selectActiveById.get({ id, now: now() });
      return row ? toActiveApiKey(row) : null;
    },
    async list(filter = {}) {
      return selectList
        .all({ user_id: filter.userId ?? null, include_revoked: filter.includeRevoked ? 1 : 0 })
        .map(toApiKeyRecord);
    },
    async get(id) {
      const row = selectOne.get(id);
      return row ? toApiKeyRecord(row) : null;
    },
    async update(id, changes) {
      const columns = apiKeyChangeColumns(changes, now());
      const names = Object.keys(columns);
      // Column names come from apiKeyChangeColumns' fixed list, never from the request.
      const write = names.length > 0 ? db.prepare(`UPDATE api_keys SET ${names.map((name) => `${name} = ?`).join(", ")} WHERE id = ?`) : null;
      const values = names.map((name) => (typeof columns[name] === "boolean" ? Number(columns[name]) : columns[name]));
      // One write transaction, as PostgreSQL's row lock: a revocation by another process cannot slip between the check and the write.
      return db.transaction((): ApiKeyRecord | null => {
        const current = selectOne.get(id);
        if (!current) return null;
        if (current.revoked_at !== null) throw revokedKey(id);
        write?.run(...values, id);
        return toApiKeyRecord(selectOne.get(id)!);
      }).immediate();
    },
    revoke: async (id) => revokeOne.run(now(), id).changes === 1,
    async markUsed(ids) {
      markUsedInOneTransaction(ids);
    },
  };
}
