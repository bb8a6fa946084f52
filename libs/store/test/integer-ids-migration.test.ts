import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  createApiKeyRepository,
  createUsageRepository,
  createUserRepository,
  generateApiKey,
  hashApiKey,
  migrations,
  openDatabase,
  type Database,
} from "@llmgw/store";

const folder = mkdtempSync(join(tmpdir(), "llmgw-store-migration-"));
const opened: Database[] = [];
let files = 0;

afterAll(() => {
  for (const db of opened) if (db.open) db.close();
  rmSync(folder, { recursive: true, force: true });
});

const now = () => 1_800_000_000;

/** A file as the first release left it: schema version 1 (text ids user_…, key_…), filled by `fill`. */
function oldDatabase(fill: (db: BetterSqlite3.Database) => void, options: { foreignKeys?: boolean } = {}): string {
  const path = join(folder, `v1-${++files}.db`);
  const db = new BetterSqlite3(path);
  db.pragma(`foreign_keys = ${options.foreignKeys === false ? "OFF" : "ON"}`);
  db.exec(migrations[0]);
  db.pragma("user_version = 1");
  fill(db);
  db.close();
  return path;
}

function open(path: string) {
  const db = openDatabase(path);
  opened.push(db);
  return db;
}

const secrets = { alice: generateApiKey(), aliceOld: generateApiKey(), bob: generateApiKey(), carol: generateApiKey() };

/** Three users (one inactive), four keys (one revoked), and usage of them and of a static key. */
function fillVersion1(db: BetterSqlite3.Database) {
  const user = db.prepare("INSERT INTO users (id, username, email, created_at, is_active) VALUES (?, ?, ?, ?, ?)");
  // Inserted out of creation order; carol shares alice's created_at and came after her.
  user.run("user_Bob000000000000000", "bob", "bob@example.com", 1_700_000_200, 1);
  user.run("user_Alice00000000000000", "alice", "alice@example.com", 1_700_000_100, 1);
  user.run("user_Carol0000000000000", "carol", "carol@example.com", 1_700_000_100, 0);
  const key = db.prepare(
    `INSERT INTO api_keys (id, user_id, key_name, key_prefix, key_hash, rate_limit_per_minute, rate_limit_per_hour,
       models, expires_at, created_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const { alice, aliceOld, bob, carol } = secrets;
  key.run("key_Bob", "user_Bob000000000000000", "bob's", bob.prefix, bob.hash, null, null, null, null, 1_700_000_400, null, null);
  key.run("key_Alice", "user_Alice00000000000000", "ci", alice.prefix, alice.hash, 12, 100, '["deepseek-chat"]', 1_900_000_000, 1_700_000_300, null, 1_700_000_900);
  key.run("key_AliceOld", "user_Alice00000000000000", "old", aliceOld.prefix, aliceOld.hash, null, null, null, null, 1_700_000_250, 1_700_000_800, 1_700_000_700);
  key.run("key_Carol", "user_Carol0000000000000", "carol's", carol.prefix, carol.hash, null, null, null, null, 1_700_000_500, null, null);
  const usage = db.prepare(
    `INSERT INTO usage_log (created_at, key_id, user_id, model, provider, prompt_tokens, completion_tokens, status, job_id, request_id, kind)
     VALUES (1700000600, ?, ?, 'deepseek-chat', 'deepseek', ?, ?, 200, ?, 'req_old', 'sync')`,
  );
  usage.run("key_Alice", "user_Alice00000000000000", 10, 5, "job_a1");
  usage.run("key_Alice", "user_Alice00000000000000", 1, 1, null);
  usage.run("key_AliceOld", "user_Alice00000000000000", 2, 2, null);
  usage.run("key_Bob", "user_Bob000000000000000", 3, 4, "job_b1");
  usage.run("static-1", null, 7, 7, null);
}

describe("migration to integer ids", () => {
  it("renumbers users and keys in creation order and keeps every key, hash, field and usage row", async () => {
    const db = open(oldDatabase(fillVersion1));
    expect(db.pragma("user_version", { simple: true })).toBe(migrations.length);
    const users = createUserRepository(db, { now });
    const keys = createApiKeyRepository(db, { now });
    const usage = createUsageRepository(db, { now });

    expect(await users.list()).toEqual([
      { id: 1, username: "alice", email: "alice@example.com", created_at: 1_700_000_100, is_active: true, token_budget_daily: null, token_budget_monthly: null },
      { id: 2, username: "carol", email: "carol@example.com", created_at: 1_700_000_100, is_active: false, token_budget_daily: null, token_budget_monthly: null },
      { id: 3, username: "bob", email: "bob@example.com", created_at: 1_700_000_200, is_active: true, token_budget_daily: null, token_budget_monthly: null },
    ]);
    const listed = await keys.list({ includeRevoked: true });
    expect(listed.map((key) => [key.id, key.user_id, key.key_name])).toEqual([
      [1, 1, "old"],
      [2, 1, "ci"],
      [3, 3, "bob's"],
      [4, 2, "carol's"],
    ]);
    expect(await keys.get(2)).toEqual({
      id: 2,
      user_id: 1,
      key_name: "ci",
      key_prefix: secrets.alice.prefix,
      rate_limit_per_minute: 12,
      rate_limit_per_hour: 100,
      models: ["deepseek-chat"],
      expires_at: 1_900_000_000,
      // Columns of later migrations, at their defaults.
      allowed_ips: null,
      is_active: true,
      token_budget_daily: null,
      token_budget_monthly: null,
      max_concurrent: null,
      created_at: 1_700_000_300,
      last_used_at: 1_700_000_900,
      revoked_at: null,
    });
    expect((await keys.get(1))?.revoked_at).toBe(1_700_000_800);

    // Every key still authenticates as before: usable ones are found by their hash, the others are not.
    const found = async (key: string) => (await keys.findActiveByHash(hashApiKey(key)))?.id ?? null;
    expect([await found(secrets.alice.key), await found(secrets.bob.key), await found(secrets.aliceOld.key), await found(secrets.carol.key)]).toEqual([2, 3, null, null]);
    db.prepare("UPDATE users SET is_active = 1 WHERE id = 2").run();
    expect(await found(secrets.carol.key)).toBe(4);

    // Usage follows its key and user, as the text identity the rest of the system uses; static keys are untouched.
    expect(db.prepare("SELECT key_id, user_id, job_id FROM usage_log ORDER BY id").all()).toEqual([
      { key_id: "2", user_id: "1", job_id: "job_a1" },
      { key_id: "2", user_id: "1", job_id: null },
      { key_id: "1", user_id: "1", job_id: null },
      { key_id: "3", user_id: "3", job_id: "job_b1" },
      { key_id: "static-1", user_id: null, job_id: null },
    ]);
    expect((await usage.stats()).per_key).toEqual([
      { key_id: 2, key_name: "ci", user_id: 1, requests: 2, prompt_tokens: 11, completion_tokens: 6 },
      { key_id: 1, key_name: "old", user_id: 1, requests: 1, prompt_tokens: 2, completion_tokens: 2 },
      { key_id: 3, key_name: "bob's", user_id: 3, requests: 1, prompt_tokens: 3, completion_tokens: 4 },
      { key_id: "static-1", key_name: null, user_id: null, requests: 1, prompt_tokens: 7, completion_tokens: 7 },
    ]);
    // A job already recorded is still recognised as recorded.
    expect(await usage.record({ keyId: "2", userId: "1", model: "m", provider: "p", status: 200, jobId: "job_a1", requestId: "r", kind: "job" })).toBe(false);

    expect(db.pragma("foreign_key_check")).toEqual([]);
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    // New rows carry on after the migrated ones, and the foreign key still guards the owner.
    const dave = await users.create({ username: "dave", email: "dave@example.com" });
    expect(dave.id).toBe(4);
    expect((await keys.create({ user_id: dave.id, key_name: "new" })).id).toBe(5);
    await expect(keys.create({ user_id: 99, key_name: "orphan" })).rejects.toThrow("No user with id 99.");
  });

  it("migrates once: reopening changes nothing", async () => {
    const path = oldDatabase(fillVersion1);
    const first = open(path);
    const snapshot = async (db: Database) => [
      await createUserRepository(db).list(),
      await createApiKeyRepository(db).list({ includeRevoked: true }),
      db.prepare("SELECT * FROM usage_log ORDER BY id").all(),
    ];
    const before = await snapshot(first);
    first.close();
    const again = open(path);
    expect(again.pragma("user_version", { simple: true })).toBe(migrations.length);
    expect(await snapshot(again)).toEqual(before);
  });

  it("leaves the file at version 1, untouched, when a row cannot be carried over", () => {
    // A key whose user is gone (only possible if foreign keys were off): refusing beats dropping the key.
    const path = oldDatabase(
      (db) => {
        fillVersion1(db);
        const orphan = generateApiKey();
        db.prepare("INSERT INTO api_keys (id, user_id, key_name, key_prefix, key_hash, created_at) VALUES ('key_orphan', 'user_gone', 'o', ?, ?, 1)").run(
          orphan.prefix,
          orphan.hash,
        );
      },
      { foreignKeys: false },
    );
    expect(() => openDatabase(path)).toThrow(/NOT NULL constraint failed: api_keys_v2.user_id/);
    const raw = new BetterSqlite3(path, { readonly: true });
    try {
      expect(raw.pragma("user_version", { simple: true })).toBe(1);
      expect(raw.prepare("SELECT id FROM api_keys ORDER BY id").pluck().all()).toEqual(["key_Alice", "key_AliceOld", "key_Bob", "key_Carol", "key_orphan"]);
      expect(raw.prepare("SELECT key_id FROM usage_log ORDER BY id").pluck().all()).toEqual(["key_Alice", "key_Alice", "key_AliceOld", "key_Bob", "static-1"]);
    } finally {
      raw.close();
    }
  });
});
