import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GatewayError } from "@llmgw/errors";
import {
  createApiKeyRepository,
  createUserRepository,
  hashApiKey,
  openDatabase,
  type ActiveApiKey,
  type ApiKeyRepository,
  type Database,
} from "@llmgw/store";
import { createStaticAuthenticator, staticKeyId } from "../src/services/client-auth.js";
import { createDatabaseAuthenticator, type DatabaseAuthenticator } from "../src/services/database-authenticator.js";

const defaults = { perMinute: 60, perHour: 1000 };
const opened: Database[] = [];
const started: DatabaseAuthenticator[] = [];

afterEach(async () => {
  // Authenticators first: closing one flushes last_used_at into its database.
  for (const auth of started.splice(0)) await auth.close?.();
  for (const db of opened.splice(0)) if (db.open) db.close();
});

/** One clock (ms) for the authenticator and, in seconds, for the store; and a record of SQLite lookups and writes. */
async function setup(options: { cacheTtlMs?: number; maxEntries?: number; maxMisses?: number; lastUsedFlushMs?: number } = {}) {
  const clock = { ms: 1_800_000_000_000 };
  const db = openDatabase(":memory:");
  opened.push(db);
  const storeNow = () => Math.floor(clock.ms / 1000);
  const keys = createApiKeyRepository(db, { now: storeNow });
  const user = await createUserRepository(db, { now: storeNow }).create({ username: "alice", email: "a@example.com" });
  const lookups: string[] = [];
  const stamps: number[][] = [];
  const counted: Pick<ApiKeyRepository, "findActiveByHash" | "findActiveById" | "markUsed"> = {
    findActiveByHash(hash) {
      lookups.push(hash);
      return keys.findActiveByHash(hash);
    },
    findActiveById: (id) => keys.findActiveById(id),
    async markUsed(ids) {
      stamps.push([...ids]);
      await keys.markUsed(ids);
    },
  };
  const auth = createDatabaseAuthenticator({ keys: counted, defaults, now: () => clock.ms, ...options });
  started.push(auth);
  return { db, clock, keys, user, auth, lookups, stamps };
}

describe("database authenticator", () => {
  it("turns a key into a principal with its own limits and models, or the defaults", async () => {
    const { keys, user, auth } = await setup();
    const limited = await keys.create({ user_id: user.id, key_name: "limited", rate_limit_per_minute: 5, rate_limit_per_hour: 50, models: ["deepseek-chat"] });
    const plain = await keys.create({ user_id: user.id, key_name: "plain" });
    // The integer ids become text here, the identity every other part (jobs, Redis, usage) knows.
    expect(await auth.authenticate(limited.api_key)).toEqual({
      keyId: "1",
      userId: "1",
      keyName: "limited",
      rateLimitPerMinute: 5,
      rateLimitPerHour: 50,
      models: ["deepseek-chat"],
      allowedIps: null,
      budgets: null,
      maxConcurrent: null,
    });
    expect(await auth.authenticate(plain.api_key)).toEqual({
      keyId: "2",
      userId: "1",
      keyName: "plain",
      rateLimitPerMinute: 60,
      rateLimitPerHour: 1000,
      models: null,
      allowedIps: null,
      budgets: null,
      maxConcurrent: null,
    });
  });

  it("answers null for unknown, empty and near-miss keys", async () => {
    const { keys, user, auth } = await setup();
    const created = await keys.create({ user_id: user.id, key_name: "dev" });
    expect(await auth.authenticate("gw-unknownunknownunknownunknown00")).toBeNull();
    expect(await auth.authenticate("")).toBeNull();
    expect(await auth.authenticate(created.api_key.slice(0, -1))).toBeNull();
    expect(await auth.authenticate(` ${created.api_key}`)).toBeNull();
  });

  it("reads SQLite once per TTL for a hot key, found or not", async () => {
    const { keys, user, auth, lookups, clock } = await setup({ cacheTtlMs: 5000 });
    const created = await keys.create({ user_id: user.id, key_name: "dev" });
    for (let i = 0; i < 20; i++) {
      expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
      expect(await auth.authenticate("gw-bad-key-bad-key-bad-key-bad-key")).toBeNull();
    }
    expect(lookups).toEqual([hashApiKey(created.api_key), hashApiKey("gw-bad-key-bad-key-bad-key-bad-key")]);

    clock.ms += 4999;
    await auth.authenticate(created.api_key);
    expect(lookups).toHaveLength(2);
    clock.ms += 1;
    await auth.authenticate(created.api_key);
    expect(lookups).toHaveLength(3);
  });

  it("keeps a valid key cached through a spray of 20,000 random keys: misses never evict it", async () => {
    const { keys, user, auth, lookups } = await setup({ cacheTtlMs: 60_000 });
    const created = await keys.create({ user_id: user.id, key_name: "real" });
    expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
    expect(lookups).toHaveLength(1);

    for (let i = 0; i < 20_000; i++) expect(await auth.authenticate(`gw-spray-${randomBytes(18).toString("base64url")}`)).toBeNull();
    // Every random key cost one read (nothing can avoid that), and nothing more.
    expect(lookups).toHaveLength(20_001);

    // The valid key is still served from memory: no read at all.
    for (let i = 0; i < 100; i++) expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
    expect(lookups).toHaveLength(20_001);
  });

  it("remembers a repeated bad key, in a bounded cache of misses of its own", async () => {
    const { auth, lookups } = await setup({ cacheTtlMs: 60_000, maxMisses: 2 });
    const [x, y, z] = ["x", "y", "z"].map((name) => `gw-miss-${name}-${"0".repeat(24)}`);
    for (const key of [x, x, x, y, y]) expect(await auth.authenticate(key)).toBeNull();
    expect(lookups.map((hash) => [x, y].find((key) => hashApiKey(key) === hash))).toEqual([x, y]);
    await auth.authenticate(z); // pushes out x, the oldest miss
    await auth.authenticate(x);
    expect(lookups).toHaveLength(4);
  });

  it("stamps last_used_at off the request path: gathered, then written in one transaction per flush", async () => {
    const { keys, user, auth, stamps, clock } = await setup({ cacheTtlMs: 1000 });
    const [a, b] = await Promise.all(["a", "b"].map((name) => keys.create({ user_id: user.id, key_name: name })));
    for (let i = 0; i < 50; i++) {
      await auth.authenticate(a.api_key);
      await auth.authenticate(b.api_key);
      clock.ms += 100; // past the TTL several times: lookups happen, writes still do not
    }
    await auth.authenticate("gw-not-a-key-not-a-key-not-a-key-00");
    expect(stamps).toEqual([]);
    expect((await keys.get(a.id))?.last_used_at).toBeNull();

    await auth.flushLastUsed();
    expect(stamps).toEqual([[a.id, b.id]]);
    expect([(await keys.get(a.id))?.last_used_at, (await keys.get(b.id))?.last_used_at]).toEqual([Math.floor(clock.ms / 1000), Math.floor(clock.ms / 1000)]);
    // Nothing used since: nothing written.
    await auth.flushLastUsed();
    expect(stamps).toHaveLength(1);
  });

  it("flushes last_used_at on its own timer and when closed", async () => {
    const { keys, user, auth, stamps } = await setup({ lastUsedFlushMs: 20 });
    const created = await keys.create({ user_id: user.id, key_name: "timer" });
    await auth.authenticate(created.api_key);
    await vi.waitFor(() => expect(stamps).toEqual([[created.id]]));
    await auth.authenticate(created.api_key);
    await auth.close?.();
    expect(stamps).toEqual([[created.id], [created.id]]);
  });

  it("keeps a key revoked elsewhere for at most the TTL, and drops it at once on revoke()", async () => {
    const { keys, user, auth, clock } = await setup({ cacheTtlMs: 5000 });
    const first = await keys.create({ user_id: user.id, key_name: "first" });
    await auth.authenticate(first.api_key);
    await keys.revoke(first.id);
    // Nobody told this instance: the cached lookup holds until the TTL ends.
    clock.ms += 4999;
    expect((await auth.authenticate(first.api_key))?.keyId).toBe(String(first.id));
    clock.ms += 1;
    expect(await auth.authenticate(first.api_key)).toBeNull();

    const second = await keys.create({ user_id: user.id, key_name: "second" });
    await auth.authenticate(second.api_key);
    await keys.revoke(second.id);
    expect((await auth.authenticate(second.api_key))?.keyId).toBe(String(second.id));
    // Told (with the id as text, as the revocation channel carries it): gone on the next request, however fresh the cache entry.
    auth.revoke(String(second.id));
    expect(await auth.authenticate(second.api_key)).toBeNull();
    auth.revoke("999");
  });

  it("never serves a cached key past its own expiry", async () => {
    const { keys, user, auth, clock } = await setup({ cacheTtlMs: 60_000 });
    const created = await keys.create({ user_id: user.id, key_name: "brief", expires_at: clock.ms / 1000 + 2 });
    expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
    clock.ms += 1999;
    expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
    clock.ms += 1;
    expect(await auth.authenticate(created.api_key)).toBeNull();
  });

  it("keeps at most maxEntries lookups, dropping the least recently used", async () => {
    const { keys, user, auth, lookups } = await setup({ maxEntries: 2 });
    const [a, b, c] = (await Promise.all(["a", "b", "c"].map((name) => keys.create({ user_id: user.id, key_name: name })))).map((key) => key.api_key);
    await auth.authenticate(a);
    await auth.authenticate(b);
    await auth.authenticate(a); // a is now more recent than b
    await auth.authenticate(c); // evicts b
    expect(lookups).toHaveLength(3);
    await auth.authenticate(a);
    expect(lookups).toHaveLength(3);
    await auth.authenticate(b);
    expect(lookups.map((hash) => [a, b, c].find((key) => hashApiKey(key) === hash))).toEqual([a, b, c, b]);
  });

  it("refuses a row whose stored hash differs from the presented key's", async () => {
    const row: ActiveApiKey = {
      id: 1,
      user_id: 1,
      key_name: "x",
      key_hash: hashApiKey("gw-some-other-key-entirely-000000"),
      rate_limit_per_minute: null,
      rate_limit_per_hour: null,
      models: null,
      expires_at: null,
      allowed_ips: null,
      token_budget_daily: null,
      token_budget_monthly: null,
      max_concurrent: null,
      user_token_budget_daily: null,
      user_token_budget_monthly: null,
    };
    const auth = createDatabaseAuthenticator({ keys: { findActiveByHash: async () => row, findActiveById: async () => row, markUsed: async () => {} }, defaults });
    expect(await auth.authenticate("gw-presented-key-presented-key-00")).toBeNull();
  });

  it("gives database keys identities that never equal a static API_KEYS key's", async () => {
    const { keys, user, auth } = await setup();
    const created = await keys.create({ user_id: user.id, key_name: "dev" });
    const fromDatabase = await auth.authenticate(created.api_key);
    const fromList = await createStaticAuthenticator([created.api_key], defaults).authenticate(created.api_key);
    // The same secret, even: the rate-limit keys, job owners, cache scopes and usage rows stay apart.
    expect([fromDatabase?.keyId, fromList?.keyId]).toEqual(["1", staticKeyId(created.api_key)]);
    expect(fromDatabase?.keyId).toMatch(/^[0-9]+$/);
    expect(fromList?.keyId).not.toMatch(/^[0-9]+$/);
  });

  it("answers service_unavailable when the database cannot be read", async () => {
    const { db, auth } = await setup();
    db.close();
    const error = await auth.authenticate("gw-anything-anything-anything-00").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect([(error as GatewayError).status, (error as GatewayError).code]).toEqual([503, "service_unavailable"]);
  });
});
