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
/** The contract's bound for a revocation to reach every API instance. */
const WITHIN_MS = 5_000;

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

async function newKey(host: 0 | 1) {
  const name = `user-${randomUUID()}`;
  const user = await adminCall(host, "POST", "/users", { username: name, email: `${name}@example.com` });
  expect(user.status).toBe(201);
  const key = await adminCall(host, "POST", "/api-keys", { user_id: user.body.id, key_name: "shared" });
  expect(key.status).toBe(201);
  return { keyId: key.body.id as number, apiKey: key.body.api_key as string };
}

function complete(host: 0 | 1, apiKey: string, content = `hello ${randomUUID()}`) {
  return fetch(`${hosts[host]}/v1/chat/completions`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content }] }),
  });
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
