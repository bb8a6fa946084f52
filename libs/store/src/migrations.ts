/**
 * The schema, one numbered step per entry: entry N brings `PRAGMA user_version` from N to N + 1.
 * A released step is never edited (databases in the field already ran it); change the schema by
 * appending a step.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    username    TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
  );

  CREATE TABLE api_keys (
    id                     TEXT PRIMARY KEY,
    user_id                TEXT NOT NULL REFERENCES users (id),
    key_name               TEXT NOT NULL,
    key_prefix             TEXT NOT NULL,
    key_hash               TEXT NOT NULL UNIQUE,
    rate_limit_per_minute  INTEGER,
    rate_limit_per_hour    INTEGER,
    models                 TEXT,
    expires_at             INTEGER,
    created_at             INTEGER NOT NULL,
    revoked_at             INTEGER,
    last_used_at           INTEGER
  );
  CREATE INDEX api_keys_user_id ON api_keys (user_id);

  -- No foreign keys: static API_KEYS principals have no rows, and usage outlives revoked keys.
  CREATE TABLE usage_log (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at         INTEGER NOT NULL,
    key_id             TEXT NOT NULL,
    user_id            TEXT,
    model              TEXT NOT NULL,
    provider           TEXT NOT NULL,
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    latency_ms         INTEGER NOT NULL DEFAULT 0,
    status             INTEGER NOT NULL,
    cache_hit          INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
    job_id             TEXT,
    request_id         TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('sync', 'stream', 'job', 'ws', 'cache'))
  );
  -- A job is recorded once however many attempts or processes report it (INSERT OR IGNORE).
  CREATE UNIQUE INDEX usage_log_job_id ON usage_log (job_id) WHERE job_id IS NOT NULL;
  CREATE INDEX usage_log_created_at ON usage_log (created_at);
  CREATE INDEX usage_log_model ON usage_log (model);
  CREATE INDEX usage_log_key_id ON usage_log (key_id);
  CREATE INDEX usage_log_status ON usage_log (status);
  `,
];
