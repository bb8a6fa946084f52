import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayError } from "@llmgw/errors";
import {
  createApiKeyRepository,
  createUsageRepository,
  createUserRepository,
  generateApiKey,
  hashApiKey,
  migrations,
  openDatabase,
  type Database,
  type UsageEntry,
} from "@llmgw/store";

const folder = mkdtempSync(join(tmpdir(), "llmgw-store-"));
const opened: Database[] = [];

afterAll(() => {
  for (const db of opened) if (db.open) db.close();
  rmSync(folder, { recursive: true, force: true });
});

function open(path = ":memory:") {
  const db = openDatabase(path);
  opened.push(db);
  return db;
}

/** A database with a clock the test moves (unix seconds). */
function setup(path?: string) {
  const clock = { now: 1_800_000_000 };
  const db = open(path);
  const now = () => clock.now;
  return {
    db,
    clock,
    users: createUserRepository(db, { now }),
    keys: createApiKeyRepository(db, { now }),
    usage: createUsageRepository(db, { now }),
  };
}

function thrown(action: () => unknown): GatewayError {
  try {
    action();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected a GatewayError");
}

describe("openDatabase", () => {
  it("creates the folder, turns WAL and foreign keys on and runs every migration once", () => {
    const path = join(folder, "nested", "deeper", "gateway.db");
    const db = open(path);
    expect(existsSync(path)).toBe(true);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("busy_timeout", { simple: true })).toBe(5000);
    expect(db.pragma("user_version", { simple: true })).toBe(migrations.length);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
    expect(tables).toEqual(["api_keys", "usage_log", "users"]);
    createUserRepository(db).create({ username: "kept", email: "k@example.com" });
    db.close();

    // Reopening migrates nothing again and keeps the data.
    const again = open(path);
    expect(again.pragma("user_version", { simple: true })).toBe(migrations.length);
    expect(createUserRepository(again).list().map((user) => user.username)).toEqual(["kept"]);
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

describe("users", () => {
  it("creates, lists and gets users", () => {
    const { users } = setup();
    const alice = users.create({ username: "alice", email: "a@example.com" });
    expect(alice).toEqual({
      id: 1,
      username: "alice",
      email: "a@example.com",
      created_at: 1_800_000_000,
      is_active: true,
    });
    const bob = users.create({ username: "bob", email: "b@example.com" });
    expect(bob.id).toBe(2);
    expect(users.list()).toEqual([alice, bob]);
    expect(users.get(bob.id)).toEqual(bob);
    expect(users.get(3)).toBeNull();
  });

  it("answers already_exists for a duplicate username", () => {
    const { users } = setup();
    users.create({ username: "alice", email: "a@example.com" });
    const error = thrown(() => users.create({ username: "alice", email: "other@example.com" }));
    expect(error.status).toBe(409);
    expect(error.toErrorBody()).toEqual({
      error: { message: "Username 'alice' already exists.", type: "invalid_request_error", param: "username", code: "already_exists" },
    });
    expect(users.list()).toHaveLength(1);
  });

  it("rejects a blank username", () => {
    const { users } = setup();
    const error = thrown(() => users.create({ username: "  ", email: "a@example.com" }));
    expect([error.status, error.code, error.param]).toEqual([400, "invalid_request", "username"]);
  });
});

describe("api keys", () => {
  it("returns the key once at creation and finds it by hash", () => {
    const { users, keys } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
    const created = keys.create({
      user_id: user.id,
      key_name: "dev",
      rate_limit_per_minute: 10,
      rate_limit_per_hour: 100,
      models: ["deepseek-chat", "deepseek-chat", "gpt-4o"],
      expires_at: 1_800_003_600,
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
      created_at: 1_800_000_000,
      last_used_at: null,
      revoked_at: null,
      api_key: expect.stringMatching(/^gw-[0-9A-Za-z]{32}$/),
    });
    expect(keys.findActiveByHash(hashApiKey(created.api_key))).toEqual({
      id: created.id,
      user_id: user.id,
      key_name: "dev",
      key_hash: hashApiKey(created.api_key),
      rate_limit_per_minute: 10,
      rate_limit_per_hour: 100,
      models: ["deepseek-chat", "gpt-4o"],
      expires_at: 1_800_003_600,
    });
    expect(keys.findActiveByHash(hashApiKey(`${created.api_key}x`))).toBeNull();
  });

  it("lists keys without the key or its hash", () => {
    const { users, keys } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
    const other = users.create({ username: "bob", email: "b@example.com" });
    const first = keys.create({ user_id: user.id, key_name: "one" });
    const second = keys.create({ user_id: other.id, key_name: "two" });
    const { api_key: _first, ...firstRecord } = first;
    const { api_key: _second, ...secondRecord } = second;
    expect(keys.list()).toEqual([firstRecord, secondRecord]);
    expect(keys.list({ userId: other.id })).toEqual([secondRecord]);
    expect(keys.get(first.id)).toEqual(firstRecord);
    const listed = JSON.stringify([keys.list(), keys.get(first.id)]);
    for (const key of [first.api_key, second.api_key]) {
      expect(listed).not.toContain(key);
      expect(listed).not.toContain(hashApiKey(key));
    }
    expect(listed).not.toContain("key_hash");
  });

  it("never writes a key in clear to the database file or its WAL", () => {
    const path = join(folder, "secrets.db");
    const { db, users, keys } = setup(path);
    const user = users.create({ username: "alice", email: "a@example.com" });
    const created = Array.from({ length: 5 }, (_, index) => keys.create({ user_id: user.id, key_name: `k${index}` }));
    keys.markUsed([created[0].id]);
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

  it("stops finding a key once it expires", () => {
    const { users, keys, clock } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
    const created = keys.create({ user_id: user.id, key_name: "short", expires_at: clock.now + 60 });
    const hash = hashApiKey(created.api_key);
    clock.now += 59;
    expect(keys.findActiveByHash(hash)?.id).toBe(created.id);
    clock.now += 1;
    expect(keys.findActiveByHash(hash)).toBeNull();
    // Still listed (it was not revoked), with its expiry for the operator to see.
    expect(keys.list().map((key) => [key.id, key.expires_at])).toEqual([[created.id, clock.now]]);
  });

  it("stops finding a key once it is revoked, and revokes only once", () => {
    const { users, keys, clock } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
    const created = keys.create({ user_id: user.id, key_name: "dev" });
    clock.now += 5;
    expect(keys.revoke(created.id)).toBe(true);
    expect(keys.revoke(created.id)).toBe(false);
    expect(keys.revoke(created.id + 1)).toBe(false);
    expect(keys.findActiveByHash(hashApiKey(created.api_key))).toBeNull();
    expect(keys.list()).toEqual([]);
    expect(keys.list({ includeRevoked: true }).map((key) => key.revoked_at)).toEqual([clock.now]);
  });

  it("stops finding the keys of an inactive user", () => {
    const { db, users, keys } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
    const created = keys.create({ user_id: user.id, key_name: "dev" });
    db.prepare("UPDATE users SET is_active = 0 WHERE id = ?").run(user.id);
    expect(keys.findActiveByHash(hashApiKey(created.api_key))).toBeNull();
  });

  it("numbers users and keys 1, 2, 3… and never reuses an id", () => {
    const { db, users, keys } = setup();
    const alice = users.create({ username: "alice", email: "a@example.com" });
    const bob = users.create({ username: "bob", email: "b@example.com" });
    const ids = [1, 2, 3].map(() => keys.create({ user_id: bob.id, key_name: "k" }).id);
    expect([alice.id, bob.id, ids]).toEqual([1, 2, [1, 2, 3]]);
    // Ids name keys in Redis and the usage log: a row removed by hand must not hand its id to a new key.
    db.prepare("DELETE FROM api_keys WHERE id = 3").run();
    expect(keys.create({ user_id: alice.id, key_name: "next" }).id).toBe(4);
    expect(keys.list({ userId: alice.id }).map((key) => key.id)).toEqual([4]);
  });

  it("stamps last_used_at", () => {
    const { users, keys, clock } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
    const created = keys.create({ user_id: user.id, key_name: "dev" });
    clock.now += 30;
    keys.markUsed([created.id]);
    expect(keys.get(created.id)?.last_used_at).toBe(clock.now);
  });

  it("rejects an unknown user and bad fields, naming the field", () => {
    const { users, keys, clock } = setup();
    const user = users.create({ username: "alice", email: "a@example.com" });
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
      const error = thrown(() => keys.create(input));
      expect([error.status, error.code, error.param, error.message]).toEqual([400, "invalid_request", param, message]);
    }
    expect(keys.list({ includeRevoked: true })).toEqual([]);
  });
});

describe("usage", () => {
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

  it("records a batch in one go, returning only the entries it did not have", () => {
    const { usage } = setup();
    usage.record(entry({ jobId: "job_9", kind: "job" }));
    const batch = [entry({ jobId: "job_9", kind: "job" }), entry({ jobId: "job_10", kind: "job" }), entry()];
    expect(usage.recordAll(batch)).toEqual([batch[1], batch[2]]);
    expect(usage.stats().requests).toBe(3);
  });

  it("records a job once, however often it is reported", () => {
    const { db, usage } = setup();
    expect(usage.record(entry({ jobId: "job_1", kind: "job" }))).toBe(true);
    expect(usage.record(entry({ jobId: "job_1", kind: "job", requestId: "req-2" }))).toBe(false);
    // Requests without a job are never deduplicated.
    expect(usage.record(entry())).toBe(true);
    expect(usage.record(entry())).toBe(true);
    const rows = db.prepare("SELECT job_id, kind, request_id FROM usage_log ORDER BY id").all();
    expect(rows).toEqual([
      { job_id: "job_1", kind: "job", request_id: "req-1" },
      { job_id: null, kind: "sync", request_id: "req-1" },
      { job_id: null, kind: "sync", request_id: "req-1" },
    ]);
  });

  it("prunes the oldest rows before a cutoff, at most `limit` per call", () => {
    const { db, usage } = setup();
    for (const seconds of [100, 300, 200, 400, 500]) usage.record(entry({ createdAt: seconds * 1000, requestId: `req-${seconds}` }));
    expect(usage.pruneBefore(400, 2)).toBe(2);
    expect(db.prepare("SELECT created_at FROM usage_log ORDER BY created_at").pluck().all()).toEqual([300, 400, 500]);
    expect(usage.pruneBefore(400, 2)).toBe(1);
    expect(usage.pruneBefore(400, 2)).toBe(0);
    expect(db.prepare("SELECT created_at FROM usage_log ORDER BY created_at").pluck().all()).toEqual([400, 500]);
  });

  it("stores createdAt (unix ms) in seconds, defaulting to now", () => {
    const { db, usage, clock } = setup();
    usage.record(entry({ createdAt: 1_700_000_000_999 }));
    usage.record(entry());
    expect(db.prepare("SELECT created_at FROM usage_log ORDER BY id").pluck().all()).toEqual([1_700_000_000, clock.now]);
  });

  it("adds up stats", () => {
    const { users, keys, usage, clock } = setup();
    const alice = users.create({ username: "alice", email: "a@example.com" });
    users.create({ username: "bob", email: "b@example.com" });
    const dev = keys.create({ user_id: alice.id, key_name: "dev" });
    const revoked = keys.create({ user_id: alice.id, key_name: "old" });
    keys.revoke(revoked.id);
    keys.create({ user_id: alice.id, key_name: "brief", expires_at: clock.now + 10 });
    clock.now += 10; // "brief" has expired: not counted as an active key

    // Usage holds the principal's text identity of the key and user.
    const devEntry = { keyId: String(dev.id), userId: String(alice.id) };
    usage.record(entry({ ...devEntry, jobId: "job_1", kind: "job" }));
    usage.record(entry({ ...devEntry, jobId: "job_1", kind: "job" }));
    usage.record(entry({ ...devEntry, kind: "cache", cacheHit: true }));
    usage.record(entry({ ...devEntry, model: "gpt-4o", provider: "openai", promptTokens: 7, completionTokens: 3 }));
    usage.record(entry({ keyId: "static-1", userId: null, status: 429, promptTokens: 0, completionTokens: 0 }));
    usage.record(entry({ keyId: "static-1", userId: null, status: 502, promptTokens: 0, completionTokens: 0 }));

    expect(usage.stats()).toEqual({
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

  it("reports zeros on an empty database", () => {
    const { usage } = setup();
    expect(usage.stats()).toEqual({
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
