/**
 * The SQLite schema, one numbered step per entry: entry N brings `PRAGMA user_version` from N to N + 1.
 * A released step is never edited (databases in the field already ran it); change the schema by
 * appending a step here and the same step to `postgresMigrations` (one list of versions, a text per dialect).
 */
export const migrations: readonly string[] = [
  // 1: the first schema (text ids: user_…, key_…).
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
  // 2: integer ids for users and keys, as the original service had (`{"user_id": 1}`). Rows are
  // renumbered in creation order; every key keeps its hash; usage rows, which hold ids as text (the
  // principal's string identity, also used in Redis), are rewritten to follow their key and user.
  // SQLite cannot change a column's type: each table is rebuilt, then renamed into place (the rename
  // also repoints the new keys table's foreign key at `users`).
  `
  CREATE TABLE users_v2 (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    username    TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
  );
  INSERT INTO users_v2 (username, email, created_at, is_active)
    SELECT username, email, created_at, is_active FROM users ORDER BY created_at, rowid;

  CREATE TABLE api_keys_v2 (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id                INTEGER NOT NULL REFERENCES users_v2 (id),
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
  -- LEFT JOIN: a key whose user cannot be found fails the step on NOT NULL rather than being dropped.
  INSERT INTO api_keys_v2 (user_id, key_name, key_prefix, key_hash, rate_limit_per_minute, rate_limit_per_hour,
      models, expires_at, created_at, revoked_at, last_used_at)
    SELECT nu.id, k.key_name, k.key_prefix, k.key_hash, k.rate_limit_per_minute, k.rate_limit_per_hour,
      k.models, k.expires_at, k.created_at, k.revoked_at, k.last_used_at
    FROM api_keys k
    LEFT JOIN users ou ON ou.id = k.user_id
    LEFT JOIN users_v2 nu ON nu.username = ou.username
    ORDER BY k.created_at, k.rowid;

  -- Usage of static API_KEYS (static-N) matches no row and is left as it is.
  UPDATE usage_log SET key_id = (
      SELECT CAST(nk.id AS TEXT) FROM api_keys ok JOIN api_keys_v2 nk ON nk.key_hash = ok.key_hash WHERE ok.id = usage_log.key_id)
    WHERE key_id IN (SELECT id FROM api_keys);
  UPDATE usage_log SET user_id = (
      SELECT CAST(nu.id AS TEXT) FROM users ou JOIN users_v2 nu ON nu.username = ou.username WHERE ou.id = usage_log.user_id)
    WHERE user_id IN (SELECT id FROM users);

  DROP TABLE api_keys;
  DROP TABLE users;
  ALTER TABLE users_v2 RENAME TO users;
  ALTER TABLE api_keys_v2 RENAME TO api_keys;
  CREATE INDEX api_keys_user_id ON api_keys (user_id);
  `,
  // 3: the upstream channel that served each request (routing across channels); null before.
  `
  ALTER TABLE usage_log ADD COLUMN channel TEXT;
  `,
  // 4: keys an admin can switch off and on again (unlike a revocation), and limit to client addresses.
  `
  ALTER TABLE api_keys ADD COLUMN is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1));
  ALTER TABLE api_keys ADD COLUMN allowed_ips TEXT;
  `,
  // 5: token budgets (prompt + completion tokens per UTC day and month) on keys and users, and a cap
  // on a key's jobs running at once; null = none.
  `
  ALTER TABLE api_keys ADD COLUMN token_budget_daily INTEGER;
  ALTER TABLE api_keys ADD COLUMN token_budget_monthly INTEGER;
  ALTER TABLE api_keys ADD COLUMN max_concurrent INTEGER;
  ALTER TABLE users ADD COLUMN token_budget_daily INTEGER;
  ALTER TABLE users ADD COLUMN token_budget_monthly INTEGER;
  `,
];

/**
 * The PostgreSQL schema, step for step with `migrations` (same length, same version numbers, the
 * version recorded in `schema_migrations`). PostgreSQL support began at version 2, so step 1 has
 * nothing to do and step 2 creates the integer-id schema directly: the same tables, columns and ids
 * as SQLite's version 2. Booleans are booleans; times are unix seconds in bigint, as in SQLite.
 */
export const postgresMigrations: readonly string[] = [
  // 1: text ids; never released on PostgreSQL.
  "",
  // 2: integer ids (identity columns: 1, 2, 3…, never reused).
  `
  CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username    text NOT NULL,
    email       text NOT NULL,
    created_at  bigint NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    CONSTRAINT users_username_key UNIQUE (username)
  );

  CREATE TABLE api_keys (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                bigint NOT NULL,
    key_name               text NOT NULL,
    key_prefix             text NOT NULL,
    key_hash               text NOT NULL,
    rate_limit_per_minute  integer,
    rate_limit_per_hour    integer,
    models                 text,
    expires_at             bigint,
    created_at             bigint NOT NULL,
    revoked_at             bigint,
    last_used_at           bigint,
    CONSTRAINT api_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
  );
  CREATE INDEX api_keys_user_id ON api_keys (user_id);

  -- No foreign keys: static API_KEYS principals have no rows, and usage outlives revoked keys.
  CREATE TABLE usage_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at         bigint NOT NULL,
    key_id             text NOT NULL,
    user_id            text,
    model              text NOT NULL,
    provider           text NOT NULL,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    latency_ms         integer NOT NULL DEFAULT 0,
    status             integer NOT NULL,
    cache_hit          boolean NOT NULL DEFAULT false,
    job_id             text,
    request_id         text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('sync', 'stream', 'job', 'ws', 'cache'))
  );
  -- A job is recorded once however many attempts or processes report it (ON CONFLICT DO NOTHING).
  CREATE UNIQUE INDEX usage_log_job_id ON usage_log (job_id) WHERE job_id IS NOT NULL;
  -- Retention deletes the oldest rows first.
  CREATE INDEX usage_log_created_at ON usage_log (created_at);

  -- What GET /admin/stats adds up, kept up to date with the log: a row per (key, model, status). Each
  -- INSERT or DELETE statement on usage_log adds or takes away its rows' sums in one statement, so the
  -- stats read a few hundred rows rather than scanning millions (and agree with the log in every snapshot).
  CREATE TABLE usage_totals (
    key_id             text NOT NULL,
    model              text NOT NULL,
    status             integer NOT NULL,
    requests           bigint NOT NULL,
    prompt_tokens      bigint NOT NULL,
    completion_tokens  bigint NOT NULL,
    cache_hits         bigint NOT NULL,
    PRIMARY KEY (key_id, model, status)
  );

  CREATE FUNCTION usage_totals_add() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    -- In key order, so that batches of several API hosts lock shared rows in the same order (no deadlock).
    INSERT INTO usage_totals AS t (key_id, model, status, requests, prompt_tokens, completion_tokens, cache_hits)
      SELECT key_id, model, status, count(*), sum(prompt_tokens), sum(completion_tokens), count(*) FILTER (WHERE cache_hit)
      FROM added GROUP BY key_id, model, status ORDER BY key_id, model, status
    ON CONFLICT (key_id, model, status) DO UPDATE SET
      requests = t.requests + excluded.requests,
      prompt_tokens = t.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = t.completion_tokens + excluded.completion_tokens,
      cache_hits = t.cache_hits + excluded.cache_hits;
    RETURN NULL;
  END $$;

  CREATE FUNCTION usage_totals_remove() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    -- The rows to change are locked in key order first, as inserts lock them: a prune and a batch never deadlock.
    PERFORM 1 FROM usage_totals t
      WHERE (t.key_id, t.model, t.status) IN (SELECT key_id, model, status FROM removed)
      ORDER BY t.key_id, t.model, t.status FOR UPDATE;
    UPDATE usage_totals t SET
      requests = t.requests - d.requests,
      prompt_tokens = t.prompt_tokens - d.prompt_tokens,
      completion_tokens = t.completion_tokens - d.completion_tokens,
      cache_hits = t.cache_hits - d.cache_hits
    FROM (
      SELECT key_id, model, status, count(*) AS requests, sum(prompt_tokens) AS prompt_tokens,
        sum(completion_tokens) AS completion_tokens, count(*) FILTER (WHERE cache_hit) AS cache_hits
      FROM removed GROUP BY key_id, model, status
    ) d
    WHERE t.key_id = d.key_id AND t.model = d.model AND t.status = d.status;
    DELETE FROM usage_totals WHERE requests = 0;
    RETURN NULL;
  END $$;

  -- Statement triggers with transition tables: one update of the totals per batch, not per row; rows
  -- skipped by ON CONFLICT DO NOTHING (a job already recorded) are not in "added".
  CREATE TRIGGER usage_log_added AFTER INSERT ON usage_log
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION usage_totals_add();
  CREATE TRIGGER usage_log_removed AFTER DELETE ON usage_log
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION usage_totals_remove();
  `,
  // 3: the upstream channel that served each request (routing across channels); null before.
  `
  ALTER TABLE usage_log ADD COLUMN channel text;
  `,
  // 4: keys an admin can switch off and on again (unlike a revocation), and limit to client addresses.
  `
  ALTER TABLE api_keys ADD COLUMN is_active boolean NOT NULL DEFAULT true, ADD COLUMN allowed_ips text;
  `,
  // 5: token budgets on keys and users, and a cap on a key's jobs running at once; null = none.
  `
  ALTER TABLE api_keys ADD COLUMN token_budget_daily bigint, ADD COLUMN token_budget_monthly bigint, ADD COLUMN max_concurrent integer;
  ALTER TABLE users ADD COLUMN token_budget_daily bigint, ADD COLUMN token_budget_monthly bigint;
  `,
];
