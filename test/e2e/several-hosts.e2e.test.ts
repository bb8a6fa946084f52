import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { jobKeys } from "@llmgw/jobs";
import { createPostgresDatabase, freePort, spawnApp, startMockUpstream, uniqueDatabaseName, type GatewayProcess, type MockUpstream } from "@llmgw/testing";

// Issue 14: the API on several hosts. Two built API processes and a worker, each started in a working
// directory of its own (no file in common), share one PostgreSQL (DATABASE_URL) and one Redis.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const prefix = `hosts-${randomUUID()}`;
const DB_PASSWORD = `pg-secret-${randomUUID()}`;
/** The contract's bound for a revocation or an admin change to reach every API instance. */
const WITHIN_MS = 5_000;
/** How often B is asked while a change travels: small against the 5 s, so the measure is close. */
const POLL_MS = 100;

let mock: MockUpstream;
let folders: string[] = [];
let processes: GatewayProcess[] = [];
let hosts: [string, string];
const [A, B] = [0, 1] as const;

beforeAll(async () => {
  // A role with a password, to prove the password never reaches a log line (the test server trusts
  // loopback, so any password is accepted).
  const serverUrl = inject("postgresUrl");
  const databaseUrl = new URL(await createPostgresDatabase(serverUrl, uniqueDatabaseName("hosts")));
  const role = `gw_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${DB_PASSWORD}'`);
  await admin.query(`ALTER DATABASE ${databaseUrl.pathname.slice(1)} OWNER TO ${role}`);
  await admin.end();
  databaseUrl.username = role;
  databaseUrl.password = DB_PASSWORD;

  mock = await startMockUpstream();
  const env = {
    HOST: "127.0.0.1",
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: prefix,
    DATABASE_URL: databaseUrl.toString(),
    ADMIN_TOKEN,
    USE_DATABASE_AUTH: "true",
    DEEPSEEK_API_KEY: `sk-provider-${prefix}`,
    DEEPSEEK_BASE_URL: mock.url,
    // Every request reaches the worker and the usage log; none is answered from a cache.
    CACHE_ENABLED: "false",
    LOG_LEVEL: "info",
    WORKER_METRICS_PORT: "0",
  };
  folders = ["host-a", "host-b", "host-worker"].map((name) => mkdtempSync(join(tmpdir(), `llmgw-${name}-`)));
  const ports = [await freePort(), await freePort()];
  // Both APIs start at once on a fresh database: the migration lock makes one apply the schema.
  processes = [
    spawnApp("api", { ...env, PORT: String(ports[A]) }, "api-a", { cwd: folders[0] }),
    spawnApp("api", { ...env, PORT: String(ports[B]) }, "api-b", { cwd: folders[1] }),
    spawnApp("worker", env, "worker", { cwd: folders[2] }),
  ];
  await Promise.all([
    processes[0].waitForLine(/Server listening/, 30_000),
    processes[1].waitForLine(/Server listening/, 30_000),
    processes[2].waitForLine(/worker ready/, 30_000),
  ]);
  hosts = [`http://127.0.0.1:${ports[A]}`, `http://127.0.0.1:${ports[B]}`];
});

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop()));
  await mock?.close();
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

async function adminCall(host: 0 | 1, method: string, path: string, body?: unknown) {
  const response = await fetch(`${hosts[host]}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function newKey(host: 0 | 1, fields: Record<string, unknown> = {}) {
  const name = `user-${randomUUID()}`;
  const user = await adminCall(host, "POST", "/users", { username: name, email: `${name}@example.com` });
  expect(user.status).toBe(201);
  const key = await adminCall(host, "POST", "/api-keys", { user_id: user.body.id, key_name: "shared", ...fields });
  expect(key.status).toBe(201);
  return { userId: user.body.id as number, keyId: key.body.id as number, apiKey: key.body.api_key as string };
}

function complete(host: 0 | 1, apiKey: string, model = "deepseek-chat") {
  return fetch(`${hosts[host]}/v1/chat/completions`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: `hello ${randomUUID()}` }] }),
  });
}

/**
 * PATCHes `path` through A while both hosts hold the key's lookup in their cache (each has just answered
 * `ask` with `before`). A must answer `after` at once; B is polled every POLL_MS until it does, for at most
 * the contract's 5 s. `elapsedMs` runs from just before the PATCH was sent to B's first `after`.
 */
async function patchThroughA(path: string, changes: Record<string, unknown>, ask: (host: 0 | 1) => Promise<Response>, before: number, after: number) {
  for (const host of [A, B] as const) expect((await ask(host)).status).toBe(before);
  const patchedAt = Date.now();
  const patched = await adminCall(A, "PATCH", path, changes);
  expect(patched.status).toBe(200);
  const onA = await ask(A);
  expect(onA.status).toBe(after);
  for (;;) {
    const onB = await ask(B);
    const elapsedMs = Date.now() - patchedAt;
    if (onB.status === after || elapsedMs >= WITHIN_MS) {
      return { patched: patched.body, onA: await onA.json(), onB: { status: onB.status, body: await onB.json() }, elapsedMs };
    }
    await onB.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The key's request count in GET /admin/stats on `host` (0 while it has none). */
async function requestsOfKey(host: 0 | 1, keyId: number): Promise<number> {
  const stats = await adminCall(host, "GET", "/stats");
  expect(stats.status).toBe(200);
  return (stats.body.per_key as { key_id: number | string; requests: number }[]).find((row) => row.key_id === keyId)?.requests ?? 0;
}

describe("two API hosts on one PostgreSQL and one Redis", () => {
  it("share nothing on disk: neither working directory holds a database file", () => {
    for (const folder of folders) expect(readdirSync(folder)).toEqual([]);
    expect(existsSync(join(folders[0], "data"))).toBe(false);
  });

  it("a key created through one host works on the other at once, both ways", async () => {
    const fromA = await newKey(A);
    const onB = await complete(B, fromA.apiKey);
    expect(onB.status).toBe(200);
    expect(((await onB.json()) as { object: string }).object).toBe("chat.completion");

    const fromB = await newKey(B);
    expect((await complete(A, fromB.apiKey)).status).toBe(200);
    // Ids come from one sequence: the second key's id follows the first's wherever it was made.
    expect(fromB.keyId).toBe(fromA.keyId + 1);
    const listedOnA = await adminCall(A, "GET", "/api-keys");
    expect(listedOnA.body.data.map((key: { id: number }) => key.id)).toEqual(expect.arrayContaining([fromA.keyId, fromB.keyId]));
  });

  it("a key revoked through one host is refused by the other within 5 s", async () => {
    const { keyId, apiKey } = await newKey(A);
    // B has looked the key up and holds it in its cache.
    expect((await complete(B, apiKey)).status).toBe(200);
    const revokedAt = Date.now();
    expect((await adminCall(A, "DELETE", `/api-keys/${keyId}`)).body).toEqual({ id: keyId, object: "api_key", deleted: true });
    // Polled, bounded by the contract's 5 s: the first refusal ends the wait.
    let status = 200;
    while (Date.now() - revokedAt < WITHIN_MS) {
      status = (await complete(B, apiKey)).status;
      if (status === 401) break;
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(WITHIN_MS);
    const refused = await complete(B, apiKey);
    expect(await refused.json()).toMatchObject({ error: { code: "invalid_api_key", type: "authentication_error" } });
  });

  // Issue 15: an admin PATCH takes effect on every instance within 5 s. The instance that takes it forgets
  // its cached lookup at once; the other re-reads the key when its cache entry (4 s) runs out. B reads the
  // key just before each PATCH, so every case measures the worst case: a little over 4 s.
  describe("a PATCH through one host is seen by the other within 5 s", () => {
    const INVALID_KEY = {
      message: "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
      type: "authentication_error",
      param: null,
      code: "invalid_api_key",
    };
    // B is asked up to every POLL_MS for 5 s: room enough that the default 60 a minute never answers 429 instead.
    const POLLED_KEY = { rate_limit_per_minute: 600 };

    it("models: another model is refused with 403 model_not_allowed", async () => {
      const { keyId, apiKey } = await newKey(A, POLLED_KEY);
      const change = await patchThroughA(`/api-keys/${keyId}`, { models: ["deepseek-reasoner"] }, (host) => complete(host, apiKey), 200, 403);
      expect(change.patched).toMatchObject({ id: keyId, models: ["deepseek-reasoner"] });
      const refused = {
        error: { message: "This API key may not use the model 'deepseek-chat'.", type: "permission_error", param: "model", code: "model_not_allowed" },
      };
      expect(change.onA).toEqual(refused);
      expect(change.onB).toEqual({ status: 403, body: refused });
      expect(change.elapsedMs).toBeLessThan(WITHIN_MS);
      // The model the key keeps still works there.
      expect((await complete(B, apiKey, "deepseek-reasoner")).status).toBe(200);
    });

    it("is_active: false is refused with 401, true again is accepted again", async () => {
      const { keyId, apiKey } = await newKey(A, POLLED_KEY);
      const ask = (host: 0 | 1) => complete(host, apiKey);
      const off = await patchThroughA(`/api-keys/${keyId}`, { is_active: false }, ask, 200, 401);
      expect(off.patched).toMatchObject({ id: keyId, is_active: false });
      expect(off.onA).toEqual({ error: INVALID_KEY });
      expect(off.onB).toEqual({ status: 401, body: { error: INVALID_KEY } });
      expect(off.elapsedMs).toBeLessThan(WITHIN_MS);

      // Both hosts now hold the refusal in their cache of misses; switching the key on must undo it too.
      const on = await patchThroughA(`/api-keys/${keyId}`, { is_active: true }, ask, 401, 200);
      expect(on.patched).toMatchObject({ id: keyId, is_active: true });
      expect(on.onB.status).toBe(200);
      expect(on.onB.body).toMatchObject({ object: "chat.completion" });
      expect(on.elapsedMs).toBeLessThan(WITHIN_MS);
    });

    it("a user switched off: their key is refused with 401", async () => {
      const { userId, apiKey } = await newKey(A, POLLED_KEY);
      const change = await patchThroughA(`/users/${userId}`, { is_active: false }, (host) => complete(host, apiKey), 200, 401);
      expect(change.patched).toMatchObject({ id: userId, is_active: false });
      expect(change.onA).toEqual({ error: INVALID_KEY });
      expect(change.onB).toEqual({ status: 401, body: { error: INVALID_KEY } });
      expect(change.elapsedMs).toBeLessThan(WITHIN_MS);
    });

    it("allowed_ips without the client's address: refused with 403 ip_not_allowed", async () => {
      const { keyId, apiKey } = await newKey(A, POLLED_KEY);
      // The test calls from 127.0.0.1; 203.0.113.7 is a documentation address no test runs from.
      const change = await patchThroughA(`/api-keys/${keyId}`, { allowed_ips: ["203.0.113.7"] }, (host) => complete(host, apiKey), 200, 403);
      expect(change.patched).toMatchObject({ id: keyId, allowed_ips: ["203.0.113.7"] });
      const refused = {
        error: {
          message: "This API key may not be used from this address (see its allowed_ips).",
          type: "permission_error",
          param: null,
          code: "ip_not_allowed",
        },
      };
      expect(change.onA).toEqual(refused);
      expect(change.onB).toEqual({ status: 403, body: refused });
      expect(change.elapsedMs).toBeLessThan(WITHIN_MS);
    });
  });

  it("stats on either host count every host's requests once", async () => {
    const { keyId, apiKey } = await newKey(A);
    const perHost = [3, 4];
    for (const host of [A, B] as const) {
      for (let n = 0; n < perHost[host]; n++) expect((await complete(host, apiKey)).status).toBe(200);
    }
    const expected = perHost[A] + perHost[B];
    // Usage reaches the database through the Redis stream's consumer group, drained by both hosts.
    await vi.waitFor(async () => expect(await requestsOfKey(A, keyId)).toBeGreaterThanOrEqual(expected), { timeout: 10_000, interval: 100 });
    // Once every entry of the stream is acknowledged, nothing more can arrive: the count is final.
    const redis = new Redis(inject("redisUrl"));
    try {
      await vi.waitFor(async () => expect(((await redis.xpending(jobKeys(prefix).usage, "api")) as [number])[0]).toBe(0), { timeout: 10_000 });
    } finally {
      redis.disconnect();
    }
    expect(await requestsOfKey(A, keyId)).toBe(expected);
    expect(await requestsOfKey(B, keyId)).toBe(expected);
  });

  it("stops start-up with one line, password masked, when PostgreSQL cannot be reached", async () => {
    const url = `postgres://gateway:${DB_PASSWORD}@127.0.0.1:${await freePort()}/gateway`;
    const api = spawnApp("api", { HOST: "127.0.0.1", PORT: "0", REDIS_URL: inject("redisUrl"), DATABASE_URL: url }, "api-no-db", { cwd: folders[0] });
    expect(await api.exited).toBe(1);
    const lines = api.lines.filter((line) => line.trim() !== "");
    expect(lines.at(-1)).toMatch(/^api failed to start: cannot open PostgreSQL at postgres:\/\/gateway:\*\*\*@127\.0\.0\.1:\d+\/gateway: connect ECONNREFUSED/);
    expect(lines.filter((line) => line.includes(DB_PASSWORD))).toEqual([]);
  });

  it("never writes the database password to a log line", () => {
    const lines = processes.flatMap((process) => process.lines);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes(DB_PASSWORD))).toEqual([]);
  });
});
