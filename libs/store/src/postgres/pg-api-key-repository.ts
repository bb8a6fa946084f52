import { systemClock, type Clock } from "../clock.js";
import {
  activeColumns,
  apiKeyChangeColumns,
  createdApiKey,
  newApiKeyRow,
  publicColumns,
  revokedKey,
  toActiveApiKey,
  toApiKeyRecord,
  unknownUser,
  type ApiKeyRepository,
  type ApiKeyRow,
} from "../api-key-repository.js";
import { inTransaction, pgQuery, violates, type PgPool } from "./pg-database.js";

type PublicRow = Omit<ApiKeyRow, "key_hash">;

/** API keys in PostgreSQL, stored as SHA-256 hashes; the same answers as the SQLite repository. */
export function createPgApiKeyRepository(pool: PgPool, options: { now?: Clock } = {}): ApiKeyRepository {
  const now = options.now ?? systemClock;
  async function findActive(match: string, value: string | number) {
    const { rows } = await pgQuery<Parameters<typeof toActiveApiKey>[0]>(
      pool,
      `SELECT ${activeColumns}
       FROM api_keys k JOIN users u ON u.id = k.user_id
       WHERE ${match} AND k.revoked_at IS NULL AND k.is_active AND (k.expires_at IS NULL OR k.expires_at > $1) AND u.is_active`,
      [now(), value],
    );
    return rows[0] ? toActiveApiKey(rows[0]) : null;
  }
  return {
    async create(input) {
      const created = newApiKeyRow(input, now());
      const row = created.row;
      try {
        const { rows } = await pgQuery<{ id: number }>(
          pool,
          `INSERT INTO api_keys (user_id, key_name, key_prefix, key_hash, rate_limit_per_minute, rate_limit_per_hour,
             models, expires_at, allowed_ips, token_budget_daily, token_budget_monthly, max_concurrent, created_at, last_used_at, revoked_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
          [
            row.user_id, row.key_name, row.key_prefix, row.key_hash, row.rate_limit_per_minute, row.rate_limit_per_hour,
            row.models, row.expires_at, row.allowed_ips, row.token_budget_daily, row.token_budget_monthly, row.max_concurrent,
            row.created_at, row.last_used_at, row.revoked_at,
          ],
        );
        return createdApiKey(rows[0].id, created);
      } catch (error) {
        if (violates(error, "23503", "api_keys_user_id_fkey")) throw unknownUser(row.user_id);
        throw error;
      }
    },
    findActiveByHash: (hash) => findActive("k.key_hash = $2", hash),
    findActiveById: (id) => findActive("k.id = $2", id),
    async list(filter = {}) {
      const { rows } = await pgQuery<PublicRow>(
        pool,
        `SELECT ${publicColumns} FROM api_keys
         WHERE ($1::bigint IS NULL OR user_id = $1) AND ($2 OR revoked_at IS NULL)
         ORDER BY created_at, id`,
        [filter.userId ?? null, filter.includeRevoked === true],
      );
      return rows.map(toApiKeyRecord);
    },
    async get(id) {
      const { rows } = await pgQuery<PublicRow>(pool, `SELECT ${publicColumns} FROM api_keys WHERE id = $1`, [id]);
      return rows[0] ? toApiKeyRecord(rows[0]) : null;
    },
    async update(id, changes) {
      const columns = apiKeyChangeColumns(changes, now());
      return inTransaction(pool, "BEGIN", async (client) => {
        const current = await client.query<PublicRow>(`SELECT ${publicColumns} FROM api_keys WHERE id = $1 FOR UPDATE`, [id]);
        if (!current.rows[0]) return null;
        if (current.rows[0].revoked_at !== null) throw revokedKey(id);
        const names = Object.keys(columns);
        if (names.length === 0) return toApiKeyRecord(current.rows[0]);
        // Column names come from apiKeyChangeColumns' fixed list, never from the request.
        const { rows } = await client.query<PublicRow>(
          `UPDATE api_keys SET ${names.map((name, index) => `${name} = $${index + 1}`).join(", ")} WHERE id = $${names.length + 1} RETURNING ${publicColumns}`,
          [...names.map((name) => columns[name]), id],
        );
        return toApiKeyRecord(rows[0]);
      });
    },
    revoke: async (id) =>
      (await pgQuery(pool, "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", [now(), id])).rowCount === 1,
    async markUsed(ids) {
      if (ids.length === 0) return;
      // One statement: atomic like SQLite's one transaction.
      await pgQuery(pool, "UPDATE api_keys SET last_used_at = $1 WHERE id = ANY($2::bigint[])", [now(), [...ids]]);
    },
  };
}
