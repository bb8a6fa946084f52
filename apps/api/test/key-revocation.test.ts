import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createApiKeyRepository, createUserRepository, openDatabase } from "@llmgw/store";
import { createDatabaseAuthenticator } from "../src/services/database-authenticator.js";
import { createKeyRevocation } from "../src/services/key-revocation.js";

const redisUrl = inject("redisUrl");
const prefix = `test-${randomUUID()}`;
const connections: Redis[] = [];
const connect = () => {
  const redis = new Redis(redisUrl);
  connections.push(redis);
  return redis;
};

afterAll(() => {
  for (const redis of connections) redis.disconnect();
});

/** Resolves with the first value `predicate` accepts among those pushed to the returned `push`. */
function waitFor<T>(predicate: (value: T) => boolean) {
  let push!: (value: T) => void;
  const arrived = new Promise<T>((resolve) => {
    push = (value) => {
      if (predicate(value)) resolve(value);
    };
  });
  return { arrived, push: (value: T) => push(value) };
}

describe("key revocation over pub/sub", () => {
  it("drops a key revoked on one instance from another instance's cache at once", async () => {
    const db = openDatabase(":memory:");
    const keys = createApiKeyRepository(db);
    const user = await createUserRepository(db).create({ username: "alice", email: "a@example.com" });
    const created = await keys.create({ user_id: user.id, key_name: "dev" });
    // The channel and the principals carry the key's id as text.
    const keyId = String(created.id);

    // Two API instances sharing the database; a TTL long enough that only the message can explain the drop.
    const authA = createDatabaseAuthenticator({ keys, defaults: { perMinute: 1, perHour: 1 }, cacheTtlMs: 600_000 });
    const authB = createDatabaseAuthenticator({ keys, defaults: { perMinute: 1, perHour: 1 }, cacheTtlMs: 600_000 });
    const seenByB = waitFor<string>((revoked) => revoked === keyId);
    const busA = await createKeyRevocation({ publisher: connect(), subscriber: connect(), prefix, onRevoked: authA.revoke });
    const busB = await createKeyRevocation({
      publisher: connect(),
      subscriber: connect(),
      prefix,
      onRevoked: (revoked) => {
        authB.revoke(revoked);
        seenByB.push(revoked);
      },
    });

    expect((await authA.authenticate(created.api_key))?.keyId).toBe(keyId);
    expect((await authB.authenticate(created.api_key))?.keyId).toBe(keyId);
    expect(await keys.revoke(created.id)).toBe(true);
    expect(await busA.announce(keyId)).toBe(true);
    // The announcing instance forgets before the round trip through Redis.
    expect(await authA.authenticate(created.api_key)).toBeNull();
    await seenByB.arrived;
    expect(await authB.authenticate(created.api_key)).toBeNull();

    await busA.close();
    await busB.close();
    db.close();
  });

  it("hears only its own deployment's channel and shares a subscriber connection", async () => {
    const publisher = connect();
    const subscriber = connect();
    const otherPrefix = `test-${randomUUID()}`;
    const ours: string[] = [];
    const theirs: string[] = [];
    const oursArrived = waitFor<string>((keyId) => keyId === "key_ours");
    const busOurs = await createKeyRevocation({
      publisher,
      subscriber,
      prefix,
      onRevoked: (keyId) => {
        ours.push(keyId);
        oursArrived.push(keyId);
      },
    });
    const busTheirs = await createKeyRevocation({ publisher, subscriber, prefix: otherPrefix, onRevoked: (keyId) => theirs.push(keyId) });

    // Published first on the same connection, so it is delivered before ours.
    await publisher.publish(`${otherPrefix}:key-revoked`, "key_theirs");
    await publisher.publish(`${prefix}:key-revoked`, "key_ours");
    await oursArrived.arrived;
    expect(ours).toEqual(["key_ours"]);
    expect(theirs).toEqual(["key_theirs"]);

    await busOurs.close();
    await busTheirs.close();
  });

  it("reports a message Redis did not take, after dropping the key locally", async () => {
    const publisher = connect();
    const dropped: string[] = [];
    const bus = await createKeyRevocation({ publisher, subscriber: connect(), prefix, onRevoked: (keyId) => dropped.push(keyId) });
    publisher.disconnect();
    expect(await bus.announce("key_1")).toBe(false);
    expect(dropped).toEqual(["key_1"]);
    await bus.close();
  });
});
