import { systemClock, type Clock } from "../clock.js";
import { newUserRow, userChangeColumns, usernameTaken, type UserRecord, type UserRepository } from "../user-repository.js";
import { pgQuery, violates, type PgPool } from "./pg-database.js";

const columns = "id, username, email, created_at, is_active, token_budget_daily, token_budget_monthly";

/** Users of the gateway (the owners of API keys), in PostgreSQL; the same answers as the SQLite repository. */
export function createPgUserRepository(pool: PgPool, options: { now?: Clock } = {}): UserRepository {
  const now = options.now ?? systemClock;
  return {
    async create(input) {
      const row = newUserRow(input, now());
      try {
        const { rows } = await pgQuery<UserRecord>(
          pool,
          `INSERT INTO users (username, email, created_at, token_budget_daily, token_budget_monthly) VALUES ($1, $2, $3, $4, $5) RETURNING ${columns}`,
          [row.username, row.email, row.created_at, row.token_budget_daily, row.token_budget_monthly],
        );
        return rows[0];
      } catch (error) {
        if (violates(error, "23505", "users_username_key")) throw usernameTaken(row.username);
        throw error;
      }
    },
    list: async () => (await pgQuery<UserRecord>(pool, `SELECT ${columns} FROM users ORDER BY created_at, id`)).rows,
    get: async (id) => (await pgQuery<UserRecord>(pool, `SELECT ${columns} FROM users WHERE id = $1`, [id])).rows[0] ?? null,
    async update(id, changes) {
      const changed = userChangeColumns(changes);
      const names = Object.keys(changed);
      if (names.length === 0) return (await pgQuery<UserRecord>(pool, `SELECT ${columns} FROM users WHERE id = $1`, [id])).rows[0] ?? null;
      const { rows } = await pgQuery<UserRecord>(
        pool,
        `UPDATE users SET ${names.map((name, index) => `${name} = $${index + 1}`).join(", ")} WHERE id = $${names.length + 1} RETURNING ${columns}`,
        [...names.map((name) => changed[name]), id],
      );
      return rows[0] ?? null;
    },
  };
}
