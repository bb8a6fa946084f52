import BetterSqlite3 from "better-sqlite3";

/** True when `error` is SQLite refusing a row that breaks the UNIQUE constraint on `table.column`. */
export function isUniqueViolation(error: unknown, table: string, column: string): boolean {
  return (
    error instanceof BetterSqlite3.SqliteError &&
    error.code === "SQLITE_CONSTRAINT_UNIQUE" &&
    error.message.includes(`${table}.${column}`)
  );
}
