import { GatewayError } from "@llmgw/errors";
import { systemClock, type Clock } from "./clock.js";
import type { Database } from "./open-database.js";
import { requireBoolean, requireText } from "./input-checks.js";
import { isUniqueViolation } from "./sqlite-errors.js";

/** A user as the admin API returns it; times are unix seconds. */
export interface UserRecord {
  /** 1, 2, 3…, never reused. */
  id: number;
  username: string;
  email: string;
  created_at: number;
  is_active: boolean;
}

export interface NewUser {
  username: string;
  email: string;
}

export interface UserRepository {
  /** Throws GatewayError `already_exists` (409) for a username that is taken, `invalid_request` for a blank field. */
  create(input: NewUser): Promise<UserRecord>;
  /** Every user, oldest first. */
  list(): Promise<UserRecord[]>;
  get(id: number): Promise<UserRecord | null>;
  /** Switches a user (and so every key of theirs) off or on; null when there is no such user. */
  setActive(id: number, active: boolean): Promise<UserRecord | null>;
}

/** A new user's row from admin input (checked here, for both databases). */
export function newUserRow({ username, email }: NewUser, createdAt: number) {
  return { username: requireText(username, "username"), email: requireText(email, "email"), created_at: createdAt };
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
}

const toRecord = (row: UserRow): UserRecord => ({ ...row, is_active: row.is_active === 1 });

/** Users of the gateway (the owners of API keys), in SQLite. */
export function createUserRepository(db: Database, options: { now?: Clock } = {}): UserRepository {
  const now = options.now ?? systemClock;
  const insert = db.prepare<[Omit<UserRow, "id">]>(
    "INSERT INTO users (username, email, created_at, is_active) VALUES (@username, @email, @created_at, @is_active)",
  );
  const selectAll = db.prepare<[], UserRow>("SELECT * FROM users ORDER BY created_at, id");
  const selectOne = db.prepare<[number], UserRow>("SELECT * FROM users WHERE id = ?");
  const updateActive = db.prepare<[number, number]>("UPDATE users SET is_active = ? WHERE id = ?");

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
    async setActive(id, active) {
      updateActive.run(requireBoolean(active, "is_active") ? 1 : 0, id);
      const row = selectOne.get(id);
      return row ? toRecord(row) : null;
    },
  };
}
