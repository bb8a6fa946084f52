import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { migrations } from "./migrations.js";

/** A better-sqlite3 connection, as every repository of this lib takes it. */
export type Database = BetterSqlite3.Database;

/**
 * Opens (creating it and its folder if needed) the SQLite file at `path` and brings its schema
 * up to date. `:memory:` gives a private in-memory database for tests.
 */
export function openDatabase(path: string): Database {
  const inMemory = path === ":memory:" || path === "";
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const db = new BetterSqlite3(path);
  try {
    // WAL lets readers (key lookups) run while a writer (usage log) commits.
    db.pragma("journal_mode = WAL");
    // With WAL, NORMAL only risks the last commits on power loss, never corruption; FULL would fsync each usage row.
    db.pragma("synchronous = NORMAL");
    // Several API instances may share the file; wait for a writer instead of failing at once.
    db.pragma("busy_timeout = 5000");
    db.pragma("foreign_keys = ON");
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The schema version this code writes; a database newer than this was migrated by a newer release. */
export const schemaVersion = migrations.length;

function migrate(db: Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `database schema version ${current} is newer than this release knows (${migrations.length}); upgrade the gateway`,
    );
  }
  for (let version = current; version < migrations.length; version++) {
    // One transaction per step, version bump included, so a failed step leaves the previous version intact.
    db.transaction(() => {
      db.exec(migrations[version]);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
