import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { GatewayError } from "@llmgw/errors";
import { createPostgresDatabase, freePort, uniqueDatabaseName } from "@llmgw/testing";
import {
  createPgApiKeyRepository,
  createPgPool,
  createPgUsageRepository,
  createPgUserRepository,
  createUserRepository,
  generateApiKey,
  hashApiKey,
  migrations,
  openDatabase,
  openPostgresStore,
  openSqliteStore,
  postgresMigrations,
  type Clock,
  type Database,
  type Store,
  type UsageEntry,
} from "@llmgw/store";

const folder = mkdtempSync(join(tmpdir(), "llmgw-store-"));
const opened: Database[] = [];
const stores: Store[] = [];
let postgresUrl = "";
let admin: pg.Pool | undefined;
let schemas = 0;

beforeAll(async () => {
  // This file's own database on the run's private PostgreSQL; each store below gets a fresh schema in it.
  postgresUrl = await createPostgresDatabase(inject("postgresUrl"), uniqueDatabaseName("store"));
  admin = new pg.Pool({ connectionString: postgresUrl, max: 2 });
});

afterAll(async () => {
  for (const store of stores) await store.close();
  await admin?.end();
  for (const db of opened) if (db.open) db.close();
  rmSync(folder, { recursive: true, force: true });
});

function open(path = ":memory:") {
  const db = openDatabase(path);
  opened.push(db);
  return db;
}

/** A URL whose connections work in `schema` of this file's database. */
function inSchema(url: string, schema: string): string {
  const withSchema = new URL(url);
  withSchema.searchParams.set("options", `-c search_path=${schema}`);
  return withSchema.toString();
}

async function freshSchema(): Promise<string> {
  const schema = `s${++schemas}`;
  await admin!.query(`CREATE SCHEMA ${schema}`);
  return inSchema(postgresUrl, schema);
}

/** A store of each kind, empty, with raw SQL access for what the repositories do not expose. */
const dialects: { name: string; open(now: Clock): Promise<{ store: Store; sql(text: string): Promise<Record<string, unknown>[]> }> }[] = [
  {
    name: "SQLite",
    async open(now) {
      const store = openSqliteStore(":memory:", { now });
      stores.push(store);
      return { store, sql: async (text) => {
        const statement = store.db.prepare(text);
        if (statement.reader) return statement.all() as Record<string, unknown>[];
        statement.run();
        return [];
      } };
    },
  },
  {
    name: "PostgreSQL",
    async open(now) {
      const store = await openPostgresStore(await freshSchema(), { now });
      stores.push(store);
      return { store, sql: async (text) => (await store.pool.query(text)).rows };
    },
  },
];

async function thrown(action: () => Promise<unknown>): Promise<GatewayError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected a GatewayError");
}

/** A SQLite database with its repositories, for what only SQLite has (files, WAL, pragmas). */
function setupSqlite(path?: string) {
  const store = openSqliteStore(path ?? ":memory:");
  opened.push(store.db);
  return { db: store.db, users: store.users, keys: store.apiKeys };
}

describe("openDatabase (SQLite)", () => {
  it("creates the folder, turns WAL and foreign keys on and runs every migration once", async () => {
    const path = join(folder, "nested", "deeper", "gateway.db");
    const db = open(path);
    expect(existsSync(path)).toBe(true);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("busy_timeout", { simple: true })).toBe(5000);
    expect(db.pragma("user_version", { simple: true })).toBe(migrations.length);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
    expect(tables).toEqual(["api_keys", "usage_log", "users"]);
    await createUserRepository(db).create({ username: "kept", email: "k@example.com" });
    db.close();

    // Reopening migrates nothing again and keeps the data.
    const again = open(path);
    expect(again.pragma("user_version", { simple: true })).toBe(migrations.length);
    expect((await createUserRepository(again).list()).map((user) => user.username)).toEqual(["kept"]);
  });

  it("refuses a database migrated by a newer release", () => {
    const path = join(folder, "newer.db");
    const db = open(path);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    expect(() => openDatabase(path)).toThrow(
      `database schema version ${migrations.length + 1} is newer than this release knows (${migrations.length}); upgrade the gateway`,
    );
  });

  it("never writes a key in clear to the database file or its WAL", async () => {
    const path = join(folder, "secrets.db");
    const { db, users, keys } = setupSqlite(path);
    const user = await users.create({ username: "alice", email: "a@example.com" });
    const created = [];
    for (let index = 0; index < 5; index++) created.push(await keys.create({ user_id: user.id, key_name: `k${index}` }));
    await keys.markUsed([created[0].id]);
    const walBytes = readFileSync(`${path}-wal`);
    expect(walBytes.length).toBeGreaterThan(0);
    // The hash must be there (proves the search reads the right bytes); the key and its secret part must not.
    expect(walBytes.includes(hashApiKey(created[0].api_key))).toBe(true);
    db.pragma("wal_checkpoint(TRUNCATE)");
    const fileBytes = readFileSync(path);
    expect(fileBytes.includes(hashApiKey(created[0].api_key))).toBe(true);
    for (const { api_key } of created) {
      for (const bytes of [walBytes, fileBytes]) {
        expect(bytes.includes(api_key)).toBe(false);
        expect(bytes.includes(api_key.slice(10))).toBe(false);
      }
    }
  });

});

describe("openPostgresStore", () => {
  it("has a step for every SQLite step: one list of versions", () => {
    expect(postgresMigrations).toHaveLength(migrations.length);
  });

  it("applies the schema once when two processes open a fresh database at the same moment", async () => {
    const url = await freshSchema();
    const schema = new URL(url).searchParams.get("options")!.split("=")[1];
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    stores.push(a, b);
    const versions = await admin!.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    expect(versions.rows.map((row) => row.version)).toEqual(migrations.map((_, index) => index + 1));
    const tables = await admin!.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [schema]);
    expect(tables.rows.map((row) => row.table_name)).toEqual(["api_keys", "schema_migrations", "usage_log", "usage_totals", "users"]);
    // Both work on the one schema: a user made through one is seen by the other.
    const user = await a.users.create({ username: "alice", email: "a@example.com" });
    expect(await b.users.get(user.id)).toEqual(user);
    // Reopening migrates nothing again.
    const again = await openPostgresStore(url);
    stores.push(again);
    expect((await admin!.query(`SELECT count(*)::int AS n FROM ${schema}.schema_migrations`)).rows[0].n).toBe(migrations.length);
  });

  it("refuses a database migrated by a newer release", async () => {
    const url = await freshSchema();
    stores.push(await openPostgresStore(url));
    const schema = new URL(url).searchParams.get("options")!.split("=")[1];
    await admin!.query(`INSERT INTO ${schema}.schema_migrations (version, applied_at) VALUES (${migrations.length + 1}, 0)`);
    await expect(openPostgresStore(url)).rejects.toThrow(
      `database schema version ${migrations.length + 1} is newer than this release knows (${migrations.length}); upgrade the gateway`,
    );
  });

  it("answers service_unavailable (503) when the server cannot be reached", async () => {
    const pool = createPgPool(`postgres://postgres@127.0.0.1:${await freePort()}/gone`);
    try {
      for (const action of [() => createPgUserRepository(pool).list(), () => createPgApiKeyRepository(pool).findActiveByHash("00"), () => createPgUsageRepository(pool).stats()]) {
        const error = await thrown(action);
        expect([error.status, error.code]).toEqual([503, "service_unavailable"]);
      }
    } finally {
      await pool.end();
    }
  });
});

describe("api key format", () => {
  it("is gw- and 32 base62 characters, with a 10-character prefix and a SHA-256 hex hash", () => {
    const { key, prefix, hash } = generateApiKey();
    expect(key).toMatch(/^gw-[0-9A-Za-z]{32}$/);
    expect(prefix).toBe(key.slice(0, 10));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hash);
    expect(generateApiKey().key).not.toBe(key);
  });
});

describe.each(dialects)("$name store", (dialect) => {
  /** An empty store with a clock the test moves (unix seconds). */
  async function setup() {
    const clock = { now: 1_800_000_000 };
    const { store, sql } = await dialect.open(() => clock.now);
    const column = async (text: string) => (await sql(text)).map((row) => Object.values(row)[0]);
    return { sql, column, clock, users: store.users, keys: store.apiKeys, usage: store.usage };
  }

  describe("users", async () => {
    it("creates, lists and gets users", async () => {
      const { users } = await setup();
      const alice = await users.create({ username: "alice", email: "a@example.com" });
      expect(alice).toEqual({
        id: 1,
        username: "alice",
        email: "a@example.com",
        created_at: 1_800_000_000,
        is_active: true,
        token_budget_daily: null,
        token_budget_monthly: null,
      });
      const bob = await users.create({ username: "bob", email: "b@example.com" });
      expect(bob.id).toBe(2);
      expect(await users.list()).toEqual([alice, bob]);
      expect(await users.get(bob.id)).toEqual(bob);
      expect(await users.get(3)).toBeNull();
    });

    it("answers already_exists for a duplicate username", async () => {
      const { users } = await setup();
      await users.create({ username: "alice", email: "a@example.com" });
      const error = await thrown(() => users.create({ username: "alice", email: "other@example.com" }));
      expect(error.status).toBe(409);
      expect(error.toErrorBody()).toEqual({
        error: { message: "Username 'alice' already exists.", type: "invalid_request_error", param: "username", code: "already_exists" },
      });
      expect(await users.list()).toHaveLength(1);
    });

    it("rejects a blank username", async () => {
      const { users } = await setup();
      const error = await thrown(() => users.create({ username: "  ", email: "a@example.com" }));
      expect([error.status, error.code, error.param]).toEqual([400, "invalid_request", "username"]);
    });
  });

  describe("api keys", async () => {
    it("returns the key once at creation and finds it by hash", async () => {
      const { users, keys } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({
        user_id: user.id,
        key_name: "dev",
        rate_limit_per_minute: 10,
        rate_limit_per_hour: 100,
        models: ["deepseek-chat", "deepseek-chat", "gpt-4o"],
        expires_at: 1_800_003_600,
        token_budget_daily: 5000,
        max_concurrent: 2,
      });
      expect(created).toEqual({
        id: 1,
        user_id: user.id,
        key_name: "dev",
        key_prefix: created.api_key.slice(0, 10),
        rate_limit_per_minute: 10,
        rate_limit_per_hour: 100,
        models: ["deepseek-chat", "gpt-4o"],
        expires_at: 1_800_003_600,
        allowed_ips: null,
        is_active: true,
        token_budget_daily: 5000,
        token_budget_monthly: null,
        max_concurrent: 2,
        created_at: 1_800_000_000,
        last_used_at: null,
        revoked_at: null,
        api_key: expect.stringMatching(/^gw-[0-9A-Za-z]{32}$/),
      });
      expect(await keys.findActiveByHash(hashApiKey(created.api_key))).toEqual({
        id: created.id,
        user_id: user.id,
        key_name: "dev",
        key_hash: hashApiKey(created.api_key),
        rate_limit_per_minute: 10,
        rate_limit_per_hour: 100,
        models: ["deepseek-chat", "gpt-4o"],
        expires_at: 1_800_003_600,
        allowed_ips: null,
        token_budget_daily: 5000,
        token_budget_monthly: null,
        max_concurrent: 2,
        user_token_budget_daily: null,
        user_token_budget_monthly: null,
      });
      expect(await keys.findActiveByHash(hashApiKey(`${created.api_key}x`))).toBeNull();
    });

    it("lists keys without the key or its hash", async () => {
      const { users, keys } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const other = await users.create({ username: "bob", email: "b@example.com" });
      const first = await keys.create({ user_id: user.id, key_name: "one" });
      const second = await keys.create({ user_id: other.id, key_name: "two" });
      const { api_key: _first, ...firstRecord } = first;
      const { api_key: _second, ...secondRecord } = second;
      expect(await keys.list()).toEqual([firstRecord, secondRecord]);
      expect(await keys.list({ userId: other.id })).toEqual([secondRecord]);
      expect(await keys.get(first.id)).toEqual(firstRecord);
      const listed = JSON.stringify([await keys.list(), await keys.get(first.id)]);
      for (const key of [first.api_key, second.api_key]) {
        expect(listed).not.toContain(key);
        expect(listed).not.toContain(hashApiKey(key));
      }
      expect(listed).not.toContain("key_hash");
    });

    it("stores the key's hash, never the key", async () => {
      const { sql, users, keys } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({ user_id: user.id, key_name: "dev" });
      await keys.markUsed([created.id]);
      const stored = JSON.stringify(await sql("SELECT * FROM api_keys"));
      expect(stored).toContain(hashApiKey(created.api_key));
      expect(stored).not.toContain(created.api_key.slice(10));
    });

    it("stops finding a key once it expires", async () => {
      const { users, keys, clock } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({ user_id: user.id, key_name: "short", expires_at: clock.now + 60 });
      const hash = hashApiKey(created.api_key);
      clock.now += 59;
      expect((await keys.findActiveByHash(hash))?.id).toBe(created.id);
      clock.now += 1;
      expect(await keys.findActiveByHash(hash)).toBeNull();
      // Still listed (it was not revoked), with its expiry for the operator to see.
      expect((await keys.list()).map((key) => [key.id, key.expires_at])).toEqual([[created.id, clock.now]]);
    });

    it("stops finding a key once it is revoked, and revokes only once", async () => {
      const { users, keys, clock } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({ user_id: user.id, key_name: "dev" });
      clock.now += 5;
      expect(await keys.revoke(created.id)).toBe(true);
      expect(await keys.revoke(created.id)).toBe(false);
      expect(await keys.revoke(created.id + 1)).toBe(false);
      expect(await keys.findActiveByHash(hashApiKey(created.api_key))).toBeNull();
      expect(await keys.list()).toEqual([]);
      expect((await keys.list({ includeRevoked: true })).map((key) => key.revoked_at)).toEqual([clock.now]);
    });

    it("updates a key's fields, switches it off and on, finds it by id only while usable, and never changes a revoked key", async () => {
      const { users, keys, clock } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({ user_id: user.id, key_name: "dev", allowed_ips: ["10.0.0.0/8"] });
      expect(await keys.findActiveById(created.id)).toMatchObject({ id: created.id, allowed_ips: ["10.0.0.0/8"] });
      const updated = await keys.update(created.id, { key_name: "renamed", rate_limit_per_hour: 50, allowed_ips: null, is_active: false });
      expect(updated).toMatchObject({ key_name: "renamed", rate_limit_per_hour: 50, allowed_ips: null, is_active: false, models: null });
      expect(await keys.findActiveById(created.id)).toBeNull();
      expect(await keys.findActiveByHash(hashApiKey(created.api_key))).toBeNull();
      await keys.update(created.id, { is_active: true });
      expect(await keys.findActiveByHash(hashApiKey(created.api_key))).toMatchObject({ key_name: "renamed", allowed_ips: null });
      expect(await users.update(user.id, { is_active: false })).toMatchObject({ is_active: false });
      expect(await keys.findActiveById(created.id)).toBeNull();
      await users.update(user.id, { is_active: true });
      await expect(keys.update(created.id, { expires_at: clock.now - 1 })).rejects.toMatchObject({ param: "expires_at" });
      await expect(keys.update(created.id, { allowed_ips: ["nope"] })).rejects.toMatchObject({ param: "allowed_ips" });
      expect(await keys.update(created.id + 100, { key_name: "x" })).toBeNull();
      await keys.revoke(created.id);
      await expect(keys.update(created.id, { is_active: true })).rejects.toMatchObject({ param: "id" });
      expect(await keys.findActiveById(created.id)).toBeNull();
    });

    it("keeps token budgets and max_concurrent on keys and users, and gives authentication both", async () => {
      const { users, keys } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com", token_budget_monthly: 1_000_000 });
      expect(user).toMatchObject({ token_budget_daily: null, token_budget_monthly: 1_000_000 });
      const created = await keys.create({ user_id: user.id, key_name: "dev", token_budget_monthly: 20_000 });
      expect(await keys.update(created.id, { token_budget_daily: 1000, max_concurrent: 3 })).toMatchObject({
        token_budget_daily: 1000,
        token_budget_monthly: 20_000,
        max_concurrent: 3,
      });
      expect(await users.update(user.id, { token_budget_daily: 50_000, token_budget_monthly: null })).toMatchObject({
        is_active: true,
        token_budget_daily: 50_000,
        token_budget_monthly: null,
      });
      expect(await keys.findActiveByHash(hashApiKey(created.api_key))).toMatchObject({
        token_budget_daily: 1000,
        token_budget_monthly: 20_000,
        max_concurrent: 3,
        user_token_budget_daily: 50_000,
        user_token_budget_monthly: null,
      });
      expect(await users.get(user.id)).toMatchObject({ token_budget_daily: 50_000, token_budget_monthly: null });
      await expect(keys.update(created.id, { max_concurrent: 0 })).rejects.toMatchObject({ param: "max_concurrent" });
      await expect(keys.create({ user_id: user.id, key_name: "x", token_budget_daily: 1.5 })).rejects.toMatchObject({ param: "token_budget_daily" });
      await expect(users.update(user.id, { token_budget_monthly: -1 })).rejects.toMatchObject({ param: "token_budget_monthly" });
      expect(await users.update(user.id + 100, { is_active: false })).toBeNull();
    });

    it("stops finding the keys of an inactive user", async () => {
      const { sql, users, keys } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({ user_id: user.id, key_name: "dev" });
      await sql(`UPDATE users SET is_active = FALSE WHERE id = ${user.id}`);
      expect(await keys.findActiveByHash(hashApiKey(created.api_key))).toBeNull();
    });

    it("numbers users and keys 1, 2, 3… and never reuses an id", async () => {
      const { sql, users, keys } = await setup();
      const alice = await users.create({ username: "alice", email: "a@example.com" });
      const bob = await users.create({ username: "bob", email: "b@example.com" });
      const ids = [];
      for (let n = 0; n < 3; n++) ids.push((await keys.create({ user_id: bob.id, key_name: "k" })).id);
      expect([alice.id, bob.id, ids]).toEqual([1, 2, [1, 2, 3]]);
      // Ids name keys in Redis and the usage log: a row removed by hand must not hand its id to a new key.
      await sql("DELETE FROM api_keys WHERE id = 3");
      expect((await keys.create({ user_id: alice.id, key_name: "next" })).id).toBe(4);
      expect((await keys.list({ userId: alice.id })).map((key) => key.id)).toEqual([4]);
    });

    it("stamps last_used_at", async () => {
      const { users, keys, clock } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const created = await keys.create({ user_id: user.id, key_name: "dev" });
      clock.now += 30;
      await keys.markUsed([created.id]);
      expect((await keys.get(created.id))?.last_used_at).toBe(clock.now);
    });

    it("rejects an unknown user and bad fields, naming the field", async () => {
      const { users, keys, clock } = await setup();
      const user = await users.create({ username: "alice", email: "a@example.com" });
      const cases: [Parameters<typeof keys.create>[0], string, string][] = [
        [{ user_id: user.id + 1, key_name: "dev" }, "user_id", `No user with id ${user.id + 1}.`],
        // The CLI reaches the store without a schema: the id's type is checked here too.
        [{ user_id: String(user.id) as unknown as number, key_name: "dev" }, "user_id", "'user_id' must be a positive whole number."],
        [{ user_id: 0, key_name: "dev" }, "user_id", "'user_id' must be a positive whole number."],
        [{ user_id: 1.5, key_name: "dev" }, "user_id", "'user_id' must be a positive whole number."],
        [{ user_id: user.id, key_name: "" }, "key_name", "'key_name' must be a non-empty string."],
        [{ user_id: user.id, key_name: "dev", rate_limit_per_minute: 0 }, "rate_limit_per_minute", "'rate_limit_per_minute' must be a positive whole number."],
        [{ user_id: user.id, key_name: "dev", rate_limit_per_hour: 1.5 }, "rate_limit_per_hour", "'rate_limit_per_hour' must be a positive whole number."],
        [{ user_id: user.id, key_name: "dev", models: [] }, "models", "'models' must be a non-empty list of model names (omit it to allow every model)."],
        [{ user_id: user.id, key_name: "dev", expires_at: clock.now }, "expires_at", "'expires_at' must be in the future."],
        [{ user_id: user.id, key_name: "dev", expires_at: clock.now * 1000 }, "expires_at", "'expires_at' must be a unix time in seconds, not milliseconds."],
      ];
      for (const [input, param, message] of cases) {
        const error = await thrown(() => keys.create(input));
        expect([error.status, error.code, error.param, error.message]).toEqual([400, "invalid_request", param, message]);
      }
      expect(await keys.list({ includeRevoked: true })).toEqual([]);
    });
  });

  describe("usage", async () => {
    const entry = (overrides: Partial<UsageEntry> = {}): UsageEntry => ({
      keyId: "1",
      userId: "1",
      model: "deepseek-chat",
      provider: "deepseek",
      promptTokens: 10,
      completionTokens: 5,
      latencyMs: 120,
      status: 200,
      requestId: "req-1",
      kind: "sync",
      ...overrides,
    });

    it("records a batch in one go, returning only the entries it did not have", async () => {
      const { usage } = await setup();
      await usage.record(entry({ jobId: "job_9", kind: "job" }));
      const batch = [entry({ jobId: "job_9", kind: "job" }), entry({ jobId: "job_10", kind: "job" }), entry()];
      expect(await usage.recordAll(batch)).toEqual([batch[1], batch[2]]);
      expect((await usage.stats()).requests).toBe(3);
    });

    it("records a job once, however often it is reported", async () => {
      const { sql, column, usage } = await setup();
      expect(await usage.record(entry({ jobId: "job_1", kind: "job" }))).toBe(true);
      expect(await usage.record(entry({ jobId: "job_1", kind: "job", requestId: "req-2" }))).toBe(false);
      // Requests without a job are never deduplicated.
      expect(await usage.record(entry())).toBe(true);
      expect(await usage.record(entry())).toBe(true);
      const rows = await sql("SELECT job_id, kind, request_id FROM usage_log ORDER BY id");
      expect(rows).toEqual([
        { job_id: "job_1", kind: "job", request_id: "req-1" },
        { job_id: null, kind: "sync", request_id: "req-1" },
        { job_id: null, kind: "sync", request_id: "req-1" },
      ]);
    });

    it("prunes the oldest rows before a cutoff, at most `limit` per call", async () => {
      const { sql, column, usage } = await setup();
      for (const seconds of [100, 300, 200, 400, 500]) await usage.record(entry({ createdAt: seconds * 1000, requestId: `req-${seconds}` }));
      expect(await usage.pruneBefore(400, 2)).toBe(2);
      expect(await column("SELECT created_at FROM usage_log ORDER BY created_at")).toEqual([300, 400, 500]);
      expect(await usage.pruneBefore(400, 2)).toBe(1);
      expect(await usage.pruneBefore(400, 2)).toBe(0);
      expect(await column("SELECT created_at FROM usage_log ORDER BY created_at")).toEqual([400, 500]);
    });

    it("stores createdAt (unix ms) in seconds, defaulting to now", async () => {
      const { sql, column, usage, clock } = await setup();
      await usage.record(entry({ createdAt: 1_700_000_000_999 }));
      await usage.record(entry());
      expect(await column("SELECT created_at FROM usage_log ORDER BY id")).toEqual([1_700_000_000, clock.now]);
    });

    it("adds up stats", async () => {
      const { users, keys, usage, clock } = await setup();
      const alice = await users.create({ username: "alice", email: "a@example.com" });
      await users.create({ username: "bob", email: "b@example.com" });
      const dev = await keys.create({ user_id: alice.id, key_name: "dev" });
      const revoked = await keys.create({ user_id: alice.id, key_name: "old" });
      await keys.revoke(revoked.id);
      await keys.create({ user_id: alice.id, key_name: "brief", expires_at: clock.now + 10 });
      clock.now += 10; // "brief" has expired: not counted as an active key

      // Usage holds the principal's text identity of the key and user.
      const devEntry = { keyId: String(dev.id), userId: String(alice.id) };
      await usage.record(entry({ ...devEntry, jobId: "job_1", kind: "job" }));
      await usage.record(entry({ ...devEntry, jobId: "job_1", kind: "job" }));
      await usage.record(entry({ ...devEntry, kind: "cache", cacheHit: true }));
      await usage.record(entry({ ...devEntry, model: "gpt-4o", provider: "openai", promptTokens: 7, completionTokens: 3 }));
      await usage.record(entry({ keyId: "static-1", userId: null, status: 429, promptTokens: 0, completionTokens: 0 }));
      await usage.record(entry({ keyId: "static-1", userId: null, status: 502, promptTokens: 0, completionTokens: 0 }));

      expect(await usage.stats()).toEqual({
        users: 2,
        api_keys: 1,
        requests: 5,
        requests_by_status: { "200": 3, "429": 1, "502": 1 },
        tokens: { prompt: 27, completion: 13 },
        cache_hits: 1,
        per_model: [
          { model: "deepseek-chat", requests: 4, prompt_tokens: 20, completion_tokens: 10 },
          { model: "gpt-4o", requests: 1, prompt_tokens: 7, completion_tokens: 3 },
        ],
        per_key: [
          { key_id: dev.id, key_name: "dev", user_id: alice.id, requests: 3, prompt_tokens: 27, completion_tokens: 13 },
          { key_id: "static-1", key_name: null, user_id: null, requests: 2, prompt_tokens: 0, completion_tokens: 0 },
        ],
      });
    });

    it("counts only what retention left: pruned rows leave the stats too", async () => {
      const { usage } = await setup();
      await usage.recordAll([
        entry({ createdAt: 100_000, model: "old-model", status: 502, promptTokens: 1, completionTokens: 1 }),
        entry({ createdAt: 200_000, keyId: "static-1", userId: null, cacheHit: true, kind: "cache" }),
        entry({ createdAt: 300_000, jobId: "job_kept", kind: "job" }),
      ]);
      expect(await usage.pruneBefore(250, 10)).toBe(2);
      expect(await usage.stats()).toMatchObject({
        requests: 1,
        requests_by_status: { "200": 1 },
        tokens: { prompt: 10, completion: 5 },
        cache_hits: 0,
        per_model: [{ model: "deepseek-chat", requests: 1, prompt_tokens: 10, completion_tokens: 5 }],
        per_key: [{ key_id: "1", key_name: null, user_id: null, requests: 1, prompt_tokens: 10, completion_tokens: 5 }],
      });
      // The job is still known once pruned rows are gone: a late report of it records nothing.
      expect(await usage.record(entry({ createdAt: 300_000, jobId: "job_kept", kind: "job" }))).toBe(false);
      expect(await usage.pruneBefore(400, 10)).toBe(1);
      expect(await usage.stats()).toMatchObject({ requests: 0, requests_by_status: {}, per_model: [], per_key: [], cache_hits: 0 });
    });

    it("lists rows newest first with their key's name and channel, filtered by key, model, channel and time", async () => {
      const { users, keys, usage } = await setup();
      const alice = await users.create({ username: "alice", email: "a@example.com" });
      const key = await keys.create({ user_id: alice.id, key_name: "ci" });
      const keyId = String(key.id);
      await usage.recordAll([
        entry({ keyId, createdAt: 1_000_000, channel: "deepseek-1", requestId: "r1" }),
        entry({ keyId, createdAt: 2_000_000, channel: "deepseek-2", requestId: "r2", status: 502 }),
        entry({ keyId: "static-0123456789abcdef", userId: null, createdAt: 3_000_000, cacheHit: true, kind: "cache", requestId: "r3" }),
        entry({ keyId, createdAt: 4_000_000, model: "gpt-4o", provider: "openai", channel: "openai-1", requestId: "r4" }),
      ]);
      const all = await usage.list({}, { limit: 10 });
      expect(all.map((row) => row.request_id)).toEqual(["r4", "r3", "r2", "r1"]);
      expect(all[3]).toMatchObject({ key_id: keyId, key_name: "ci", channel: "deepseek-1", cache_hit: false, created_at: 1000 });
      expect(all[1]).toMatchObject({ key_id: "static-0123456789abcdef", key_name: null, channel: null, cache_hit: true });
      expect((await usage.list({ channel: "deepseek-2" }, { limit: 10 })).map((row) => row.request_id)).toEqual(["r2"]);
      expect((await usage.list({ keyId, model: "deepseek-chat" }, { limit: 10 })).map((row) => row.request_id)).toEqual(["r2", "r1"]);
      expect((await usage.list({ from: 2000, to: 4000 }, { limit: 1 })).map((row) => row.request_id)).toEqual(["r3"]);
    });

    it("adds up a time series by channel, by model and in total, with errors and cache hits", async () => {
      const { usage } = await setup();
      const hour = 3600;
      await usage.recordAll([
        entry({ createdAt: 10 * 1000, channel: "deepseek-1" }),
        entry({ createdAt: 20 * 1000, channel: "deepseek-2", status: 429, promptTokens: 0, completionTokens: 0 }),
        entry({ createdAt: (hour + 5) * 1000, channel: "deepseek-1" }),
        entry({ createdAt: (hour + 6) * 1000, cacheHit: true, kind: "cache" }),
      ]);
      const point = (bucket: number, group: string, requests: number, errors: number, cacheHits: number, tokens: number) => ({
        bucket,
        group,
        requests,
        errors,
        cache_hits: cacheHits,
        prompt_tokens: tokens * 10,
        completion_tokens: tokens * 5,
      });
      expect(await usage.series({}, { bucket: "hour", groupBy: "channel" })).toEqual([
        point(0, "deepseek-1", 1, 0, 0, 1),
        point(0, "deepseek-2", 1, 1, 0, 0),
        point(hour, "(none)", 1, 0, 1, 1),
        point(hour, "deepseek-1", 1, 0, 0, 1),
      ]);
      expect(await usage.series({}, { bucket: "day", groupBy: "none" })).toEqual([point(0, "all", 4, 1, 1, 3)]);
      // Days start at the reader's midnight: 60 minutes east of UTC, the day began an hour before the epoch.
      expect(await usage.series({ channel: "deepseek-1" }, { bucket: "day", groupBy: "model", utcOffsetMinutes: 60 })).toEqual([
        point(-hour, "deepseek-chat", 2, 0, 0, 2),
      ]);
    });

    it("reports zeros on an empty database", async () => {
      const { usage } = await setup();
      expect(await usage.stats()).toEqual({
        users: 0,
        api_keys: 0,
        requests: 0,
        requests_by_status: {},
        tokens: { prompt: 0, completion: 0 },
        cache_hits: 0,
        per_model: [],
        per_key: [],
      });
    });
  });
});
