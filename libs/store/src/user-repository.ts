import { GatewayError } from "@llmgw/errors";
import { systemClock, type Clock } from "./clock.js";
import type { Database } from "./open-database.js";
import { optionalLimit, requireBoolean, requireText } from "./input-checks.js";
import { isUniqueViolation } from "./sqlite-errors.js";

/** A user as the admin API returns it; times are unix seconds. */
export interface UserRecord {
  /** 1, 2, 3…, never reused. */
  id: number;
  username: string;
  email: string;
  created_at: number;
  is_active: boolean;
  /** Prompt + completion tokens all the user's keys together may spend per UTC day and month; null = no budget. */
  token_budget_daily: number | null;
  token_budget_monthly: number | null;
}

export interface NewUser {
  username: string;
  email: string;
  token_budget_daily?: number | null;
  token_budget_monthly?: number | null;
}

/** What PATCH may change; an absent field keeps its value, null clears a budget. */
export interface UserChanges {
  is_active?: boolean;
  token_budget_daily?: number | null;
  token_budget_monthly?: number | null;
}

export interface UserRepository {
  /** Throws GatewayError `already_exists` (409) for a username that is taken, `invalid_request` for a blank field. */
  create(input: NewUser): Promise<UserRecord>;
  /** Every user, oldest first. */
  list(): Promise<UserRecord[]>;
  get(id: number): Promise<UserRecord | null>;
  /**
   * Changes a user: `is_active` false switches them (and so every key of theirs) off. Null when there
   * is no such user; throws GatewayError `invalid_request` for a bad field.
   */
  update(id: number, changes: UserChanges): Promise<UserRecord | null>;
}

/** A new user's row from admin input (checked here, for both databases). */
export function newUserRow(input: NewUser, createdAt: number) {
  return {
    username: requireText(input.username, "username"),
    email: requireText(input.email, "email"),
    token_budget_daily: optionalLimit(input.token_budget_daily, "token_budget_daily"),
    token_budget_monthly: optionalLimit(input.token_budget_monthly, "token_budget_monthly"),
    created_at: createdAt,
  };
}

/** The columns a PATCH sets, checked here for both databases; names come from this fixed list, never from the request. */
export function userChangeColumns(changes: UserChanges): Record<string, number | boolean | null> {
  const columns: Record<string, number | boolean | null> = {};
  if (changes.is_active !== undefined) columns.is_active = requireBoolean(changes.is_active, "is_active");
  for (const field of ["token_budget_daily", "token_budget_monthly"] as const) {
    if (changes[field] !== undefined) columns[field] = optionalLimit(changes[field], field);
  }
  return columns;
}

/** The answer to a taken username, in both databases. */
export const usernameTaken = (username: string) =>
  new GatewayError("already_exists", { message: `Username '${username}' already exists.`, param: "username" });

interface UserRow {
  id: number;
  username: string;
  email: string;
  created_at: number;
  is_active: number;
  token_budget_daily: number | null;
  token_budget_monthly: number | null;
}

const toRecord = (row: UserRow): UserRecord => ({ ...row, is_active: row.is_active === 1 });

/** Users of the gateway (the owners of API keys), in SQLite. */
export function createUserRepository(db: Database, options: { now?: Clock } = {}): UserRepository {
  const now = options.now ?? systemClock;
  const insert = db.prepare<[Omit<UserRow, "id">]>(
    `INSERT INTO users (username, email, created_at, is_active, token_budget_daily, token_budget_monthly)
     VALUES (@username, @email, @created_at, @is_active, @token_budget_daily, @token_budget_monthly)`,
  );
  const selectAll = db.prepare<[], UserRow>("SELECT * FROM users ORDER BY created_at, id");
  const selectOne = db.prepare<[number], UserRow>("SELECT * FROM users WHERE id = ?");

  return {
    async create(input) {
      const row: Omit<UserRow, "id"> = { ...newUserRow(input, now()), is_active: 1 };
      let id: number;
      try {
        id = Number(insert.run(row).lastInsertRowid);
      } catch (error) {
        if (isUniqueViolation(error, "users", "username")) throw usernameTaken(row.username);
        throw error;
      }
      return toRecord({ id, ...row });
    },
    list: async () => selectAll.all().map(toRecord),
    async get(id) {
      const row = selectOne.get(id);
      return row ? toRecord(row) : null;
    },
    async update(id, changes) {
      const columns = userChangeColumns(changes);
      const names = Object.keys(columns);
      if (names.length > 0) {
        const values = names.map((name) => (typeof columns[name] === "boolean" ? Number(columns[name]) : columns[name]));
        db.prepare(`UPDATE users SET ${names.map((name) => `${name} = ?`).join(", ")} WHERE id = ?`).run(...values, id);
      }
      const row = selectOne.get(id);
      return row ? toRecord(row) : null;
    },
  };
}
