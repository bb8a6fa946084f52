import { systemClock, type Clock } from "../clock.js";
import { requireBoolean } from "../input-checks.js";
import { newUserRow, usernameTaken, type UserRecord, type UserRepository } from "../user-repository.js";
import { pgQuery, violates, type PgPool } from "./pg-database.js";

const columns = "id, username, email, created_at, is_active";

/** Users of the gateway (the owners of API keys), in PostgreSQL; the same answers as the SQLite repository. */
export function createPgUserRepository(pool: PgPool, options: { now?: Clock } = {}): UserRepository {
  const now = options.now ?? systemClock;
  return {
    async create(input) {
      const row = newUserRow(input, now());
      try {
        const { rows } = await pgQuery<UserRecord>(
          pool,
          `INSERT INTO users (username, email, created_at) VALUES ($1, $2, $3) RETURNING ${columns}`,
          [row.username, row.email, row.created_at],
        );
        return rows[0];
      } catch (error) {
        if (violates(error, "23505", "users_username_key")) throw usernameTaken(row.username);
        throw error;
      }
    },
    list: async () => (await pgQuery<UserRecord>(pool, `SELECT ${columns} FROM users ORDER BY created_at, id`)).rows,
    get: async (id) => (await pgQuery<UserRecord>(pool, `SELECT ${columns} FROM users WHERE id = $1`, [id])).rows[0] ?? null,
    setActive: async (id, active) =>
      (await pgQuery<UserRecord>(pool, `UPDATE users SET is_active = $1 WHERE id = $2 RETURNING ${columns}`, [requireBoolean(active, "is_active"), id])).rows[0] ??
      null,
  };
}
