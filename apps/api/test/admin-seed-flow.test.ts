import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { FastifyInstance } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { generateApiKey, migrations } from "@llmgw/store";
import { startTestApi, type TestApi } from "./support/test-api.js";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const opened: TestApi[] = [];

afterAll(async () => {
  for (const api of opened) await api.close();
});

async function startApi(env: Record<string, string> = {}) {
  const api = await startTestApi({ ADMIN_TOKEN, ...env });
  opened.push(api);
  return api.app;
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** What many HTTP clients send on every request, bodiless ones included. */
const adminJson = { ...admin, "content-type": "application/json" };

const unauthorized = {
  error: {
    message: "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
    type: "authentication_error",
    param: null,
    code: "invalid_api_key",
  },
};

const models = (app: FastifyInstance, key: string, prefix = "/v1") =>
  app.inject({ method: "GET", url: `${prefix}/models`, headers: { authorization: `Bearer ${key}` } });

describe("the original service's admin flow, verbatim", () => {
  it("creates user 1, key 1 for it, uses the key, deletes key 1 with a JSON content type and no body: 401 after", async () => {
    const app = await startApi();
    const user = await app.inject({
      method: "POST",
      url: "/api/v1/admin/users",
      headers: adminJson,
      payload: '{"username": "alice", "email": "alice@example.com"}',
    });
    expect(user.statusCode).toBe(201);
    expect(user.json()).toMatchObject({ id: 1, object: "user", username: "alice" });

    const created = await app.inject({
      method: "POST",
      url: "/api/v1/admin/api-keys",
      headers: adminJson,
      payload: '{"user_id": 1, "key_name": "my-app"}',
    });
    expect(created.statusCode).toBe(201);
    const key = created.json();
    expect(key).toMatchObject({ id: 1, object: "api_key", user_id: 1, key_name: "my-app", api_key: expect.stringMatching(/^gw-/) });

    for (const prefix of ["/v1", "/api/v1"]) expect((await models(app, key.api_key, prefix)).statusCode).toBe(200);
    const listed = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys?user_id=1", headers: adminJson });
    expect(listed.json().data.map((row: { id: number; user_id: number }) => [row.id, row.user_id])).toEqual([[1, 1]]);

    const deleted = await app.inject({ method: "DELETE", url: "/api/v1/admin/api-keys/1", headers: adminJson });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({ id: 1, object: "api_key", deleted: true });

    const refused = await models(app, key.api_key);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual(unauthorized);
    const again = await app.inject({ method: "DELETE", url: "/api/v1/admin/api-keys/1", headers: adminJson });
    expect(again.statusCode).toBe(404);
    expect(again.json().error).toMatchObject({ message: "No API key with id 1.", code: "not_found" });
  });
});

describe("an API started on a database of the first release (text ids)", () => {
  /** The file as the first release wrote it: its DDL (migration 1), a user, two keys (one revoked), usage of both and of a static key. */
  function firstReleaseDatabase() {
    const path = join(mkdtempSync(join(tmpdir(), "llmgw-api-v1-")), "gateway.db");
    const db = new BetterSqlite3(path);
    db.pragma("foreign_keys = ON");
    db.exec(migrations[0]);
    db.pragma("user_version = 1");
    const live = generateApiKey();
    const revoked = generateApiKey();
    db.prepare("INSERT INTO users (id, username, email, created_at) VALUES ('user_5NzVxQ4m1ky40KZcjUkD', 'alice', 'alice@example.com', 1764201600)").run();
    const key = db.prepare(
      "INSERT INTO api_keys (id, user_id, key_name, key_prefix, key_hash, created_at, revoked_at) VALUES (?, 'user_5NzVxQ4m1ky40KZcjUkD', ?, ?, ?, ?, ?)",
    );
    key.run("key_vly2ZdN36t6XIBsECxYg", "my-app", live.prefix, live.hash, 1764201700, null);
    key.run("key_Rv0k3d000000000000000", "old", revoked.prefix, revoked.hash, 1764201800, 1764201900);
    const usage = db.prepare(
      `INSERT INTO usage_log (created_at, key_id, user_id, model, provider, prompt_tokens, completion_tokens, status, request_id, kind)
       VALUES (1764202000, ?, ?, 'deepseek-chat', 'deepseek', ?, ?, 200, 'req_old', 'sync')`,
    );
    usage.run("key_vly2ZdN36t6XIBsECxYg", "user_5NzVxQ4m1ky40KZcjUkD", 10, 20);
    usage.run("key_vly2ZdN36t6XIBsECxYg", "user_5NzVxQ4m1ky40KZcjUkD", 1, 2);
    usage.run("key_Rv0k3d000000000000000", "user_5NzVxQ4m1ky40KZcjUkD", 3, 3);
    usage.run("static-1", null, 5, 5);
    db.close();
    return { path, live: live.key, revoked: revoked.key };
  }

  it("keeps every key working as before, under integer ids, with its usage attributed", async () => {
    const { path, live, revoked } = firstReleaseDatabase();
    const app = await startApi({ DATABASE_PATH: path });

    expect((await models(app, live)).statusCode).toBe(200);
    expect((await models(app, revoked)).statusCode).toBe(401);

    const users = await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: admin });
    expect(users.json().data).toEqual([
      { id: 1, object: "user", username: "alice", email: "alice@example.com", created_at: 1764201600, is_active: true, token_budget_daily: null, token_budget_monthly: null },
    ]);
    const keys = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys?include_revoked=true", headers: admin });
    expect(keys.json().data.map((row: { id: number; user_id: number; key_name: string; revoked_at: number | null }) => [row.id, row.user_id, row.key_name, row.revoked_at])).toEqual([
      [1, 1, "my-app", null],
      [2, 1, "old", 1764201900],
    ]);

    const stats = await app.inject({ method: "GET", url: "/api/v1/admin/stats", headers: admin });
    expect(stats.json().per_key).toEqual([
      { key_id: 1, key_name: "my-app", user_id: 1, requests: 2, prompt_tokens: 11, completion_tokens: 22 },
      { key_id: 2, key_name: "old", user_id: 1, requests: 1, prompt_tokens: 3, completion_tokens: 3 },
      { key_id: "static-1", key_name: null, user_id: null, requests: 1, prompt_tokens: 5, completion_tokens: 5 },
    ]);

    // New rows carry on after the migrated ones; the migrated key is revoked by its new id.
    const next = await app.inject({ method: "POST", url: "/api/v1/admin/api-keys", headers: admin, payload: { user_id: 1, key_name: "next" } });
    expect(next.json()).toMatchObject({ id: 3, user_id: 1 });
    const deleted = await app.inject({ method: "DELETE", url: "/api/v1/admin/api-keys/1", headers: adminJson });
    expect(deleted.json()).toEqual({ id: 1, object: "api_key", deleted: true });
    expect((await models(app, live)).statusCode).toBe(401);
  });
});
