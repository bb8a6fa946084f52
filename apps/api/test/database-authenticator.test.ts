import { afterEach, describe, expect, it } from "vitest";
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
import { createStaticAuthenticator } from "../src/services/client-auth.js";
import { createDatabaseAuthenticator } from "../src/services/database-authenticator.js";

const defaults = { perMinute: 60, perHour: 1000 };
const opened: Database[] = [];

afterEach(() => {
  for (const db of opened.splice(0)) if (db.open) db.close();
});

/** One clock (ms) for the authenticator and, in seconds, for the store; and a count of SQLite lookups. */
function setup(options: { cacheTtlMs?: number; maxEntries?: number } = {}) {
  const clock = { ms: 1_800_000_000_000 };
  const db = openDatabase(":memory:");
  opened.push(db);
  const storeNow = () => Math.floor(clock.ms / 1000);
  const keys = createApiKeyRepository(db, { now: storeNow });
  const user = createUserRepository(db, { now: storeNow }).create({ username: "alice", email: "a@example.com" });
  const lookups: string[] = [];
  const counted: Pick<ApiKeyRepository, "findActiveByHash" | "markUsed"> = {
    findActiveByHash(hash) {
      lookups.push(hash);
      return keys.findActiveByHash(hash);
    },
    markUsed: keys.markUsed,
  };
  const auth = createDatabaseAuthenticator({ keys: counted, defaults, now: () => clock.ms, ...options });
  return { db, clock, keys, user, auth, lookups };
}

describe("database authenticator", () => {
  it("turns a key into a principal with its own limits and models, or the defaults", async () => {
    const { keys, user, auth } = setup();
    const limited = keys.create({ user_id: user.id, key_name: "limited", rate_limit_per_minute: 5, rate_limit_per_hour: 50, models: ["deepseek-chat"] });
    const plain = keys.create({ user_id: user.id, key_name: "plain" });
    // The integer ids become text here, the identity every other part (jobs, Redis, usage) knows.
    expect(await auth.authenticate(limited.api_key)).toEqual({
      keyId: "1",
      userId: "1",
      keyName: "limited",
      rateLimitPerMinute: 5,
      rateLimitPerHour: 50,
      models: ["deepseek-chat"],
    });
    expect(await auth.authenticate(plain.api_key)).toEqual({
      keyId: "2",
      userId: "1",
      keyName: "plain",
      rateLimitPerMinute: 60,
      rateLimitPerHour: 1000,
      models: null,
    });
  });

  it("answers null for unknown, empty and near-miss keys", async () => {
    const { keys, user, auth } = setup();
    const created = keys.create({ user_id: user.id, key_name: "dev" });
    expect(await auth.authenticate("gw-unknownunknownunknownunknown00")).toBeNull();
    expect(await auth.authenticate("")).toBeNull();
    expect(await auth.authenticate(created.api_key.slice(0, -1))).toBeNull();
    expect(await auth.authenticate(` ${created.api_key}`)).toBeNull();
  });

  it("reads SQLite once per TTL for a hot key, found or not, and stamps last_used_at on each read", async () => {
    const { keys, user, auth, lookups, clock } = setup({ cacheTtlMs: 5000 });
    const created = keys.create({ user_id: user.id, key_name: "dev" });
    for (let i = 0; i < 20; i++) {
      expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
      expect(await auth.authenticate("gw-bad-key-bad-key-bad-key-bad-key")).toBeNull();
    }
    expect(lookups).toEqual([hashApiKey(created.api_key), hashApiKey("gw-bad-key-bad-key-bad-key-bad-key")]);
    expect(keys.get(created.id)?.last_used_at).toBe(clock.ms / 1000);

    clock.ms += 4999;
    await auth.authenticate(created.api_key);
    expect(lookups).toHaveLength(2);
    clock.ms += 1;
    await auth.authenticate(created.api_key);
    expect(lookups).toHaveLength(3);
    expect(keys.get(created.id)?.last_used_at).toBe(clock.ms / 1000);
  });

  it("keeps a key revoked elsewhere for at most the TTL, and drops it at once on revoke()", async () => {
    const { keys, user, auth, clock } = setup({ cacheTtlMs: 5000 });
    const first = keys.create({ user_id: user.id, key_name: "first" });
    await auth.authenticate(first.api_key);
    keys.revoke(first.id);
    // Nobody told this instance: the cached lookup holds until the TTL ends.
    clock.ms += 4999;
    expect((await auth.authenticate(first.api_key))?.keyId).toBe(String(first.id));
    clock.ms += 1;
    expect(await auth.authenticate(first.api_key)).toBeNull();

    const second = keys.create({ user_id: user.id, key_name: "second" });
    await auth.authenticate(second.api_key);
    keys.revoke(second.id);
    expect((await auth.authenticate(second.api_key))?.keyId).toBe(String(second.id));
    // Told (with the id as text, as the revocation channel carries it): gone on the next request, however fresh the cache entry.
    auth.revoke(String(second.id));
    expect(await auth.authenticate(second.api_key)).toBeNull();
    auth.revoke("999");
  });

  it("never serves a cached key past its own expiry", async () => {
    const { keys, user, auth, clock } = setup({ cacheTtlMs: 60_000 });
    const created = keys.create({ user_id: user.id, key_name: "brief", expires_at: clock.ms / 1000 + 2 });
    expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
    clock.ms += 1999;
    expect((await auth.authenticate(created.api_key))?.keyId).toBe(String(created.id));
    clock.ms += 1;
    expect(await auth.authenticate(created.api_key)).toBeNull();
  });

  it("keeps at most maxEntries lookups, dropping the least recently used", async () => {
    const { keys, user, auth, lookups } = setup({ maxEntries: 2 });
    const [a, b, c] = ["a", "b", "c"].map((name) => keys.create({ user_id: user.id, key_name: name }).api_key);
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
    };
    const auth = createDatabaseAuthenticator({ keys: { findActiveByHash: () => row, markUsed: () => {} }, defaults });
    expect(await auth.authenticate("gw-presented-key-presented-key-00")).toBeNull();
  });

  it("gives database keys identities that never equal a static API_KEYS key's", async () => {
    const { keys, user, auth } = setup();
    const created = keys.create({ user_id: user.id, key_name: "dev" });
    const fromDatabase = await auth.authenticate(created.api_key);
    const fromList = await createStaticAuthenticator([created.api_key], defaults).authenticate(created.api_key);
    // The same secret, even: the rate-limit keys, job owners, cache scopes and usage rows stay apart.
    expect([fromDatabase?.keyId, fromList?.keyId]).toEqual(["1", "static-1"]);
    expect(fromDatabase?.keyId).toMatch(/^[0-9]+$/);
    expect(fromList?.keyId).not.toMatch(/^[0-9]+$/);
  });

  it("answers service_unavailable when the database cannot be read", async () => {
    const { db, auth } = setup();
    db.close();
    const error = await auth.authenticate("gw-anything-anything-anything-00").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect([(error as GatewayError).status, (error as GatewayError).code]).toEqual([503, "service_unavailable"]);
  });
});
