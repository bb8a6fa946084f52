import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { budgetPeriod, jobKeys, newJobId } from "@llmgw/jobs";
import { hashApiKey } from "@llmgw/store";
import { createPostgresDatabase, uniqueDatabaseName } from "@llmgw/testing";
import { buildApp } from "../src/app.js";
import { startTestApi, type TestApi } from "./support/test-api.js";
import type { ApiContext } from "../src/context.js";
import type { DatabaseAuthenticator } from "../src/services/database-authenticator.js";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const opened: TestApi[] = [];

/** The admin API answers the same on either database: every suite below runs on both. */
const databases = [
  { name: "SQLite", env: async (): Promise<Record<string, string>> => ({}) },
  {
    name: "PostgreSQL",
    env: async (): Promise<Record<string, string>> => ({
      DATABASE_URL: await createPostgresDatabase(inject("postgresUrl"), uniqueDatabaseName("admin_routes")),
    }),
  },
];
let databaseEnv = databases[0].env;

/** A context and app of their own: a fresh database (file or PostgreSQL database) and Redis prefix, so counts start at zero. */
async function startApi(env: Record<string, string> = {}) {
  const api = await startTestApi({ ADMIN_TOKEN, ...(await databaseEnv()), ...env });
  opened.push(api);
  return api;
}

afterAll(async () => {
  for (const api of opened) await api.close();
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const errorBody = (status: string, type: string, message: string, param: string | null = null) => ({
  error: { message, type, param, code: status },
});
const invalid = (message: string, param: string | null) => errorBody("invalid_request", "invalid_request_error", message, param);

describe.each(databases)("on $name", (database) => {
  beforeAll(() => {
    databaseEnv = database.env;
  });

  describe("admin authentication", () => {
    let app: FastifyInstance;
    let disabled: FastifyInstance;

    beforeAll(async () => {
      const started = await startApi();
      app = started.app;
      // The same context without ADMIN_TOKEN: the admin API must refuse to run at all.
      disabled = await buildApp({ ...started.context, config: { ...started.context.config, adminToken: undefined } });
    });
    afterAll(() => disabled.close());

    const routes = [
      { method: "GET", url: "/api/v1/admin/users" },
      { method: "POST", url: "/api/v1/admin/users", payload: { username: "u", email: "u@example.com" } },
      { method: "GET", url: "/api/v1/admin/api-keys" },
      { method: "POST", url: "/api/v1/admin/api-keys", payload: { user_id: 1, key_name: "k" } },
      { method: "DELETE", url: "/api/v1/admin/api-keys/1" },
      { method: "GET", url: "/api/v1/admin/stats" },
    ] as const;

    it.each(routes)("$method $url answers 403 admin_disabled while ADMIN_TOKEN is unset, even with a token", async (route) => {
      const response = await disabled.inject({ ...route, headers: admin });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual(
        errorBody(
          "admin_disabled",
          "permission_error",
          "The admin API is disabled: set ADMIN_TOKEN in the API's environment to enable it.",
        ),
      );
    });

    const unauthorized = errorBody(
      "invalid_admin_token",
      "authentication_error",
      "Incorrect or missing admin token. Send it as 'Authorization: Bearer ADMIN_TOKEN'.",
    );

    // Each test calls from an address of its own: failed logins are throttled per address (10 a minute).
    let addresses = 0;
    const freshAddress = () => `10.0.${Math.floor(++addresses / 250)}.${addresses % 250}`;

    it.each(routes)("$method $url answers 401 invalid_admin_token without the token", async (route) => {
      const remoteAddress = freshAddress();
      for (const headers of [
        {},
        { authorization: `Bearer ${ADMIN_TOKEN}x` },
        { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
        { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` },
        { authorization: ADMIN_TOKEN },
        { "x-api-key": ADMIN_TOKEN },
      ]) {
        const response = await app.inject({ ...route, headers, remoteAddress });
        expect(response.statusCode).toBe(401);
        expect(response.json()).toEqual(unauthorized);
        expect(response.headers["x-request-id"]).toMatch(/^req_/);
      }
    });

    it("checks the token before the body, so an anonymous caller learns nothing of the schema", async () => {
      const response = await app.inject({ method: "POST", url: "/api/v1/admin/users", payload: { nope: 1 }, remoteAddress: freshAddress() });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual(unauthorized);
    });

    it("does not accept a client key as the admin token", async () => {
      const created = await createUserAndKey(app, "client-not-admin");
      const response = await app.inject({
        method: "GET",
        url: "/api/v1/admin/users",
        headers: { authorization: `Bearer ${created.key.api_key}` },
        remoteAddress: freshAddress(),
      });
      expect(response.statusCode).toBe(401);
    });
  });

  async function createUserAndKey(app: FastifyInstance, username: string, key: Record<string, unknown> = {}) {
    const user = await app.inject({
      method: "POST",
      url: "/api/v1/admin/users",
      headers: admin,
      payload: { username, email: `${username}@example.com` },
    });
    expect(user.statusCode).toBe(201);
    const created = await app.inject({
      method: "POST",
      url: "/api/v1/admin/api-keys",
      headers: admin,
      payload: { user_id: user.json().id, key_name: `${username}'s key`, ...key },
    });
    expect(created.statusCode).toBe(201);
    return { user: user.json(), key: created.json() };
  }

  describe("admin users", () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = (await startApi()).app;
    });

    it("creates a user (201) and lists it", async () => {
      const response = await app.inject({
        method: "POST",
        url: "/api/v1/admin/users",
        headers: admin,
        payload: { username: "alice", email: "alice@example.com" },
      });
      expect(response.statusCode).toBe(201);
      const alice = response.json();
      expect(alice).toEqual({
        id: 1,
        object: "user",
        username: "alice",
        email: "alice@example.com",
        created_at: expect.any(Number),
        is_active: true,
        token_budget_daily: null,
        token_budget_monthly: null,
      });
      expect(Math.abs(alice.created_at - Date.now() / 1000)).toBeLessThan(5);

      const list = await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: admin });
      expect(list.statusCode).toBe(200);
      expect(list.json()).toEqual({ object: "list", data: [alice] });
    });

    it("answers 409 already_exists for a taken username", async () => {
      const response = await app.inject({
        method: "POST",
        url: "/api/v1/admin/users",
        headers: admin,
        payload: { username: "alice", email: "other@example.com" },
      });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toEqual(
        errorBody("already_exists", "invalid_request_error", "Username 'alice' already exists.", "username"),
      );
    });

    it.each([
      [{ username: "bob", email: "bob@example.com", is_admin: true }, invalid("Unrecognized request argument supplied: is_admin.", "is_admin")],
      [{ username: "bob" }, invalid("Missing required parameter: 'email'.", "email")],
      [{ username: "", email: "bob@example.com" }, invalid("Invalid value for 'username': must NOT have fewer than 1 characters.", "username")],
      [{ username: "bob", email: "not an email" }, invalid(`Invalid value for 'email': must match format "email".`, "email")],
      [{ username: 7, email: "bob@example.com" }, invalid("Invalid value for 'username': must be string.", "username")],
      [{ username: "   ", email: "bob@example.com" }, invalid("'username' must be a non-empty string.", "username")],
    ])("answers 400 for the body %j", async (payload, body) => {
      const response = await app.inject({ method: "POST", url: "/api/v1/admin/users", headers: admin, payload });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(body);
    });

    it("answers 400 invalid_json for a body that is not JSON", async () => {
      const response = await app.inject({
        method: "POST",
        url: "/api/v1/admin/users",
        headers: { ...admin, "content-type": "application/json" },
        payload: "{username:",
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe("invalid_json");
    });
  });

  describe("admin API keys", () => {
    let app: FastifyInstance;
    let context: ApiContext;
    let userId: number;
    beforeAll(async () => {
      ({ app, context } = await startApi());
      const user = await app.inject({
        method: "POST",
        url: "/api/v1/admin/users",
        headers: admin,
        payload: { username: "carol", email: "carol@example.com" },
      });
      userId = user.json().id;
    });

    const createKey = (payload: Record<string, unknown>) =>
      app.inject({ method: "POST", url: "/api/v1/admin/api-keys", headers: admin, payload });

    it("creates a key (201), shows it once, and never lists the key or its hash", async () => {
      const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
      const response = await createKey({
        user_id: userId,
        key_name: "ci",
        rate_limit_per_minute: 12,
        rate_limit_per_hour: 100,
        expires_at: expiresAt,
        models: ["deepseek-chat"],
      });
      expect(response.statusCode).toBe(201);
      expect(response.headers["cache-control"]).toBe("no-store");
      const created = response.json();
      expect(created).toEqual({
        id: 1,
        object: "api_key",
        user_id: userId,
        key_name: "ci",
        key_prefix: created.api_key.slice(0, 10),
        rate_limit_per_minute: 12,
        rate_limit_per_hour: 100,
        models: ["deepseek-chat"],
        expires_at: expiresAt,
        allowed_ips: null,
        is_active: true,
        token_budget_daily: null,
        token_budget_monthly: null,
        max_concurrent: null,
        created_at: expect.any(Number),
        last_used_at: null,
        revoked_at: null,
        api_key: expect.stringMatching(/^gw-[0-9A-Za-z]{32}$/),
      });

      const defaults = await createKey({ user_id: userId, key_name: "defaults", rate_limit_per_hour: null, models: null });
      expect(defaults.statusCode).toBe(201);
      const { api_key: secondKey, ...secondRecord } = defaults.json();
      expect(secondRecord).toMatchObject({ rate_limit_per_minute: null, rate_limit_per_hour: null, models: null, expires_at: null });

      const list = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys", headers: admin });
      expect(list.statusCode).toBe(200);
      const { api_key: firstKey, ...firstRecord } = created;
      expect(list.json()).toEqual({ object: "list", data: [firstRecord, secondRecord] });
      for (const secret of [firstKey, secondKey, hashApiKey(firstKey), hashApiKey(secondKey), "key_hash", "\"api_key\":"]) {
        expect(list.body).not.toContain(secret);
      }

      const mine = await app.inject({ method: "GET", url: `/api/v1/admin/api-keys?user_id=${userId}`, headers: admin });
      expect(mine.json().data).toHaveLength(2);
      const nobody = await app.inject({ method: "GET", url: `/api/v1/admin/api-keys?user_id=${userId + 1}`, headers: admin });
      expect(nobody.json()).toEqual({ object: "list", data: [] });
      const notAnId = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys?user_id=user_nobody", headers: admin });
      expect(notAnId.statusCode).toBe(400);
      expect(notAnId.json()).toEqual(invalid("Invalid value for 'user_id': must be integer.", "user_id"));
    });

    it.each([
      [{ user_id: 1, key_name: "k", scopes: ["all"] }, invalid("Unrecognized request argument supplied: scopes.", "scopes")],
      [{ key_name: "k" }, invalid("Missing required parameter: 'user_id'.", "user_id")],
      [{ user_id: 999, key_name: "k" }, invalid("No user with id 999.", "user_id")],
      [{ user_id: "USER_AS_TEXT", key_name: "k" }, invalid("Invalid value for 'user_id': must be integer.", "user_id")],
      [{ user_id: "user_abc", key_name: "k" }, invalid("Invalid value for 'user_id': must be integer.", "user_id")],
      [{ user_id: 0, key_name: "k" }, invalid("Invalid value for 'user_id': must be >= 1.", "user_id")],
      [{ user_id: 1.5, key_name: "k" }, invalid("Invalid value for 'user_id': must be integer.", "user_id")],
      [{ user_id: "USER", key_name: "k", rate_limit_per_minute: 0 }, invalid("Invalid value for 'rate_limit_per_minute': must be >= 1.", "rate_limit_per_minute")],
      [{ user_id: "USER", key_name: "k", rate_limit_per_hour: "10" }, invalid("Invalid value for 'rate_limit_per_hour': must be integer.", "rate_limit_per_hour")],
      [{ user_id: "USER", key_name: "k", models: [] }, invalid("Invalid value for 'models': must NOT have fewer than 1 items.", "models")],
      [{ user_id: "USER", key_name: "k", expires_at: 1_000 }, invalid("'expires_at' must be in the future.", "expires_at")],
      [{ user_id: "USER", key_name: "k", expires_at: Date.now() + 60_000 }, invalid("'expires_at' must be a unix time in seconds, not milliseconds.", "expires_at")],
    ])("answers 400 for the body %j", async (payload, body) => {
      // "USER" stands for the user created above, whose id is only known at run time; "USER_AS_TEXT" for its id as a string.
      const sent: Record<string, unknown> = { ...payload };
      if (sent.user_id === "USER") sent.user_id = userId;
      if (sent.user_id === "USER_AS_TEXT") sent.user_id = String(userId);
      const response = await createKey(sent);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(body);
    });

    it("answers 400 for an unknown query parameter of the list", async () => {
      const response = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys?limit=5", headers: admin });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(invalid("Unrecognized request argument supplied: limit.", "limit"));
    });

    it("a created key authenticates at once and stops on DELETE, here and announced to every instance", async () => {
      const created = (await createKey({ user_id: userId, key_name: "short-lived" })).json();
      const asClient = { "x-api-key": created.api_key };
      const models = await app.inject({ method: "GET", url: "/v1/models", headers: asClient });
      expect(models.statusCode).toBe(200);
      expect(models.json()).toEqual({ object: "list", data: [] });
      // Every authenticated answer says where the key stands; a read does not count against it.
      expect(models.headers["x-ratelimit-limit-requests"]).toBe("60");
      expect(models.headers["x-ratelimit-remaining-requests"]).toBe("60");
      expect((await app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${created.api_key}` } })).statusCode).toBe(200);

      // Another instance would hear of the revocation on this channel.
      const listener = new Redis(inject("redisUrl"));
      const announced = new Promise<string>((resolve) => listener.on("message", (_channel, keyId: string) => resolve(keyId)));
      await listener.subscribe(jobKeys(context.config.queuePrefix).keyRevokedChannel);
      try {
        const deleted = await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${created.id}`, headers: admin });
        expect(deleted.statusCode).toBe(200);
        expect(deleted.json()).toEqual({ id: created.id, object: "api_key", deleted: true });
        // Everywhere but the admin API, a key is known by its id as text.
        expect(await announced).toBe(String(created.id));
      } finally {
        listener.disconnect();
      }

      // Refused at once, although this instance had the key in its 5 s lookup cache.
      const refused = await app.inject({ method: "GET", url: "/v1/models", headers: asClient });
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toEqual(
        errorBody(
          "invalid_api_key",
          "authentication_error",
          "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
        ),
      );

      const active = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys", headers: admin });
      expect(active.json().data.map((key: { id: number }) => key.id)).not.toContain(created.id);
      // last_used_at is stamped off the request path, every few seconds: stamp now rather than wait.
      await (context.authenticator as DatabaseAuthenticator).flushLastUsed();
      const all = await app.inject({ method: "GET", url: "/api/v1/admin/api-keys?include_revoked=true", headers: admin });
      const revoked = all.json().data.find((key: { id: number }) => key.id === created.id);
      expect(revoked.revoked_at).toEqual(expect.any(Number));
      expect(revoked.last_used_at).toEqual(expect.any(Number));
      expect(revoked).not.toHaveProperty("api_key");
    });

    it("answers 404 not_found to DELETE of an unknown or already revoked key", async () => {
      const created = (await createKey({ user_id: userId, key_name: "twice" })).json();
      expect((await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${created.id}`, headers: admin })).statusCode).toBe(200);
      for (const id of [created.id, 999_999]) {
        const response = await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${id}`, headers: admin });
        expect(response.statusCode).toBe(404);
        expect(response.json()).toEqual(errorBody("not_found", "invalid_request_error", `No API key with id ${id}.`));
      }
    });

    it.each([
      ["key_doesnotexist", "must be integer"],
      ["1.5", "must be integer"],
      ["-1", "must be integer"],
      ["0", "must be >= 1"],
      ["99999999999999999999", "must be integer"],
    ])("answers 400 naming 'id' to DELETE /api-keys/%s, an id that is not a key id", async (id, problem) => {
      const response = await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${id}`, headers: admin });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(invalid(`Invalid value for 'id': ${problem}.`, "id"));
    });
  });

  describe("token budgets and spending", () => {
    let app: FastifyInstance;
    let context: ApiContext;
    let redis: Redis;
    beforeAll(async () => {
      // A provider for the model; no worker runs, so nothing calls it.
      ({ app, context } = await startApi({ DEEPSEEK_API_KEY: "sk-test-budgets" }));
      redis = new Redis(inject("redisUrl"));
    });
    afterAll(() => redis.disconnect());

    const post = (url: string, payload: object) => app.inject({ method: "POST", url, headers: admin, payload });
    const patch = (url: string, payload: object) => app.inject({ method: "PATCH", url, headers: admin, payload });
    /** What a worker adds as requests end (libs/jobs spending.ts), written here directly: no worker runs in this suite. */
    const spend = (scope: "key" | "user", id: number, tokens: number) =>
      redis.incrby(jobKeys(context.config.queuePrefix).spending(scope, String(id), budgetPeriod("daily", Date.now()).label), tokens);
    const complete = (key: string) =>
      app.inject({
        method: "POST",
        url: "/v1/jobs",
        headers: { authorization: `Bearer ${key}` },
        payload: { request: { model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] } },
      });

    it("creates keys and users with budgets and max_concurrent, shows their spending, and refuses a used-up budget with 429 insufficient_quota", async () => {
      const user = (await post("/api/v1/admin/users", { username: "erin", email: "e@example.com", token_budget_monthly: 90_000 })).json();
      expect(user).toMatchObject({ token_budget_daily: null, token_budget_monthly: 90_000 });
      const key = (await post("/api/v1/admin/api-keys", { user_id: user.id, key_name: "b", token_budget_daily: 1000, max_concurrent: 2 })).json();
      expect(key).toMatchObject({ token_budget_daily: 1000, token_budget_monthly: null, max_concurrent: 2 });
      await spend("key", key.id, 999);
      expect((await complete(key.api_key)).statusCode).toBe(202);

      await spend("key", key.id, 1);
      const shown = (await app.inject({ method: "GET", url: `/api/v1/admin/api-keys/${key.id}`, headers: admin })).json();
      expect(shown).toMatchObject({ id: key.id, object: "api_key", token_budget_daily: 1000, max_concurrent: 2 });
      expect(shown).not.toHaveProperty("api_key");
      const today = new Date().toISOString().slice(0, 10);
      const tomorrow = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1) / 1000;
      expect(shown.spending.daily).toEqual({ period: "daily", period_start: today, resets_at: tomorrow, tokens: 1000, budget: 1000 });
      expect(shown.spending.monthly).toMatchObject({ period_start: today.slice(0, 7), tokens: 0, budget: null });

      const refused = await complete(key.api_key);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers["x-should-retry"]).toBe("false");
      expect(refused.json()).toEqual(
        errorBody(
          "insufficient_quota",
          "insufficient_quota",
          `This API key has used its daily token budget: 1000 of 1000 tokens this day (${today}, UTC). It resets at ${new Date(tomorrow * 1000).toISOString()}, or when an admin raises the budget.`,
        ),
      );
      const chat = await app.inject({
        method: "POST",
        url: "/v1/chat/completions",
        headers: { authorization: `Bearer ${key.api_key}` },
        payload: { model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] },
      });
      expect([chat.statusCode, chat.json().error.code]).toEqual([429, "insufficient_quota"]);

      // Raised: this instance applies it to the next request.
      expect((await patch(`/api/v1/admin/api-keys/${key.id}`, { token_budget_daily: 5000 })).json()).toMatchObject({ token_budget_daily: 5000 });
      expect((await complete(key.api_key)).statusCode).toBe(202);

      // The user's budget holds over all their keys.
      expect((await patch(`/api/v1/admin/users/${user.id}`, { token_budget_daily: 300 })).json()).toMatchObject({ token_budget_daily: 300, token_budget_monthly: 90_000 });
      await spend("user", user.id, 300);
      const byUser = await complete(key.api_key);
      expect(byUser.statusCode).toBe(429);
      expect(byUser.json().error.message).toMatch(/^The user of this API key has used its daily token budget: 300 of 300 tokens/);
      const shownUser = (await app.inject({ method: "GET", url: `/api/v1/admin/users/${user.id}`, headers: admin })).json();
      expect(shownUser).toMatchObject({ id: user.id, object: "user", spending: { daily: { tokens: 300, budget: 300 }, monthly: { budget: 90_000 } } });
    });

    it("refuses bad budgets and caps with 400 naming the field, and unknown ids with 404", async () => {
      const user = (await post("/api/v1/admin/users", { username: "fay", email: "f@example.com" })).json();
      const key = (await post("/api/v1/admin/api-keys", { user_id: user.id, key_name: "k" })).json();
      const cases: [string, object, string][] = [
        [`/api/v1/admin/api-keys/${key.id}`, { max_concurrent: 0 }, "max_concurrent"],
        [`/api/v1/admin/api-keys/${key.id}`, { token_budget_daily: 1.5 }, "token_budget_daily"],
        [`/api/v1/admin/users/${user.id}`, { token_budget_monthly: "lots" }, "token_budget_monthly"],
        [`/api/v1/admin/users/${user.id}`, {}, null as unknown as string],
      ];
      for (const [url, payload, param] of cases) {
        const response = await patch(url, payload);
        expect(response.statusCode).toBe(400);
        expect(response.json().error.param).toBe(param);
      }
      expect((await app.inject({ method: "GET", url: "/api/v1/admin/api-keys/9999", headers: admin })).statusCode).toBe(404);
      expect((await app.inject({ method: "GET", url: "/api/v1/admin/users/9999", headers: admin })).statusCode).toBe(404);
    });
  });

  describe("key and user updates, IP allow-lists", () => {
    let app: FastifyInstance;
    let userId: number;
    beforeAll(async () => {
      ({ app } = await startApi({ TRUST_PROXY: "10.9.9.9" }));
      userId = (await app.inject({ method: "POST", url: "/api/v1/admin/users", headers: admin, payload: { username: "dora", email: "d@example.com" } })).json().id;
    });
    const createKey = async (payload: Record<string, unknown> = {}) =>
      (await app.inject({ method: "POST", url: "/api/v1/admin/api-keys", headers: admin, payload: { user_id: userId, key_name: "k", ...payload } })).json();
    const patchKey = (id: number, payload: unknown) => app.inject({ method: "PATCH", url: `/api/v1/admin/api-keys/${id}`, headers: admin, payload: payload as object });
    /** A client call with the key, from `remoteAddress` (inject's default is 127.0.0.1). */
    const call = (key: string, remoteAddress?: string, headers: Record<string, string> = {}) =>
      app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${key}`, ...headers }, ...(remoteAddress ? { remoteAddress } : {}) });
    const notAllowed = errorBody("ip_not_allowed", "permission_error", "This API key may not be used from this address (see its allowed_ips).");

    it("changes a key's fields, keeps the others, and the change applies to the next request here", async () => {
      const key = await createKey({ rate_limit_per_minute: 5, models: ["deepseek-chat"] });
      const response = await patchKey(key.id, { key_name: "renamed", rate_limit_per_minute: null, allowed_ips: ["10.0.0.0/8"] });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        id: key.id,
        key_name: "renamed",
        rate_limit_per_minute: null,
        models: ["deepseek-chat"],
        allowed_ips: ["10.0.0.0/8"],
        is_active: true,
      });
      expect(response.json()).not.toHaveProperty("api_key");
      const refused = await call(key.api_key);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toEqual(notAllowed);
      expect((await call(key.api_key, "10.1.2.3")).statusCode).toBe(200);
    });

    it("switches a key off and on again", async () => {
      const key = await createKey();
      expect((await call(key.api_key)).statusCode).toBe(200);
      expect((await patchKey(key.id, { is_active: false })).json()).toMatchObject({ is_active: false, revoked_at: null });
      expect((await call(key.api_key)).statusCode).toBe(401);
      expect((await patchKey(key.id, { is_active: true })).json()).toMatchObject({ is_active: true });
      expect((await call(key.api_key)).statusCode).toBe(200);
    });

    it("switches a user, and so every key of theirs, off and on", async () => {
      const key = await createKey();
      expect((await call(key.api_key)).statusCode).toBe(200);
      const off = await app.inject({ method: "PATCH", url: `/api/v1/admin/users/${userId}`, headers: admin, payload: { is_active: false } });
      expect(off.json()).toMatchObject({ id: userId, is_active: false });
      expect((await call(key.api_key)).statusCode).toBe(401);
      await app.inject({ method: "PATCH", url: `/api/v1/admin/users/${userId}`, headers: admin, payload: { is_active: true } });
      expect((await call(key.api_key)).statusCode).toBe(200);
      expect((await app.inject({ method: "PATCH", url: "/api/v1/admin/users/999", headers: admin, payload: { is_active: false } })).statusCode).toBe(404);
    });

    it("matches IPv6 addresses and CIDRs, and IPv4 clients of a dual-stack socket", async () => {
      const key = await createKey({ allowed_ips: ["2001:db8::/32", "198.51.100.7"] });
      expect((await call(key.api_key, "2001:db8:1::5")).statusCode).toBe(200);
      expect((await call(key.api_key, "::ffff:198.51.100.7")).statusCode).toBe(200);
      expect((await call(key.api_key, "2001:db9::1")).json()).toEqual(notAllowed);
    });

    it("takes X-Forwarded-For only from a trusted proxy (TRUST_PROXY)", async () => {
      const key = await createKey({ allowed_ips: ["203.0.113.0/24"] });
      expect((await call(key.api_key, "10.9.9.9", { "x-forwarded-for": "203.0.113.5" })).statusCode).toBe(200);
      expect((await call(key.api_key, "10.9.9.8", { "x-forwarded-for": "203.0.113.5" })).statusCode).toBe(403);
    });

    it("refuses bad changes with 400 naming the field, a revoked key's changes, and unknown keys with 404", async () => {
      const key = await createKey();
      const bad = await patchKey(key.id, { allowed_ips: ["10.0.0.0/33"] });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toEqual(
        invalid("'allowed_ips': '10.0.0.0/33' is not an IPv4 or IPv6 address or CIDR (such as 203.0.113.0/24 or 2001:db8::/32).", "allowed_ips"),
      );
      expect((await patchKey(key.id, {})).statusCode).toBe(400);
      expect((await patchKey(key.id, { api_key: "gw-x" })).statusCode).toBe(400);
      expect((await patchKey(9999, { key_name: "x" })).statusCode).toBe(404);
      await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${key.id}`, headers: admin });
      const revoked = await patchKey(key.id, { is_active: true });
      expect(revoked.statusCode).toBe(400);
      expect(revoked.json()).toEqual(invalid(`The API key ${key.id} is revoked; a revoked key cannot change.`, "id"));
    });
  });

  describe("admin stats", () => {
    it("reports the usage log and the queue depths", async () => {
      const { app, context } = await startApi();
      const { user, key } = await createUserAndKey(app, "dave");
      await createUserAndKey(app, "erin");
      const revoked = await createUserAndKey(app, "frank");
      await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${revoked.key.id}`, headers: admin });

      // Usage entries carry the principal's identity: the ids as text.
      const entry = {
        requestId: "req_1",
        keyId: String(key.id),
        userId: String(user.id),
        model: "deepseek-chat",
        provider: "deepseek",
        latencyMs: 10,
        createdAt: Date.now(),
      };
      context.recordUsage({ ...entry, jobId: "job_1", promptTokens: 5, completionTokens: 7, status: 200, cacheHit: false, kind: "sync" });
      context.recordUsage({ ...entry, jobId: null, promptTokens: 5, completionTokens: 7, status: 200, cacheHit: true, kind: "cache" });
      context.recordUsage({ ...entry, jobId: "job_2", promptTokens: 0, completionTokens: 0, status: 502, cacheHit: false, kind: "job" });
      // The same job reported twice (a retried drain) is one request.
      context.recordUsage({ ...entry, jobId: "job_2", promptTokens: 0, completionTokens: 0, status: 502, cacheHit: false, kind: "job" });
      context.recordUsage({ ...entry, model: "gpt-4o-mini", provider: "openai", jobId: "job_3", promptTokens: 1, completionTokens: 2, status: 200, cacheHit: false, kind: "stream" });
      // Not written yet (cache-hit entries gather for 100 ms): the stats route writes them first.
      // A job no worker takes (there is none here) waits in the queue.
      const jobId = newJobId();
      await context.queue.add(
        "completion",
        {
          jobId,
          request: { model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] },
          model: "deepseek-chat",
          provider: "deepseek",
          owner: { keyId: String(key.id), userId: String(user.id) },
          mode: "async",
          requestId: "req_queued",
        },
        { jobId },
      );

      const response = await app.inject({ method: "GET", url: "/api/v1/admin/stats", headers: admin });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        users: 3,
        api_keys: 2,
        requests: 4,
        requests_by_status: { "200": 3, "502": 1 },
        tokens: { prompt: 11, completion: 16 },
        cache_hits: 1,
        per_model: [
          { model: "deepseek-chat", requests: 3, prompt_tokens: 10, completion_tokens: 14 },
          { model: "gpt-4o-mini", requests: 1, prompt_tokens: 1, completion_tokens: 2 },
        ],
        per_key: [{ key_id: key.id, key_name: "dave's key", user_id: user.id, requests: 4, prompt_tokens: 11, completion_tokens: 16 }],
        queue: { waiting: 1, active: 0, delayed: 0, failed: 0, completed: 0 },
      });
    });
  });
});

describe("admin routes in the OpenAPI document", () => {
  it("lists every admin route under the admin tag with bearer (or console session) security and no key hash anywhere", async () => {
    const { app } = await startApi();
    const document = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    const operations = [
      ["/api/v1/admin/users", "post"],
      ["/api/v1/admin/users", "get"],
      ["/api/v1/admin/api-keys", "post"],
      ["/api/v1/admin/api-keys", "get"],
      ["/api/v1/admin/api-keys/{id}", "delete"],
      ["/api/v1/admin/stats", "get"],
      ["/api/v1/admin/usage", "get"],
      ["/api/v1/admin/usage/series", "get"],
      ["/api/v1/admin/jobs", "get"],
      ["/api/v1/admin/jobs/{id}", "get"],
      ["/api/v1/admin/jobs/{id}/cancel", "post"],
    ];
    for (const [path, method] of operations) {
      const operation = document.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toMatchObject({
        tags: ["admin"],
        security: [{ bearerAuth: [] }, { consoleSession: [] }],
        summary: expect.any(String),
      });
    }
    expect(document.paths["/api/v1/admin/api-keys"].post.responses["201"].content["application/json"].schema.properties).toHaveProperty("api_key");
    expect(JSON.stringify(document)).not.toContain("key_hash");
    // Ids are integers, in paths, queries, bodies and answers.
    const idParameter = document.paths["/api/v1/admin/api-keys/{id}"].delete.parameters.find((parameter: { name: string }) => parameter.name === "id");
    expect(idParameter).toMatchObject({ in: "path", required: true, schema: { type: "integer", minimum: 1 } });
    const listUserId = document.paths["/api/v1/admin/api-keys"].get.parameters.find((parameter: { name: string }) => parameter.name === "user_id");
    expect(listUserId).toMatchObject({ in: "query", schema: { type: "integer" } });
    const createBody = document.paths["/api/v1/admin/api-keys"].post.requestBody.content["application/json"].schema;
    expect(createBody.properties.user_id).toMatchObject({ type: "integer", minimum: 1 });
    const created = document.paths["/api/v1/admin/api-keys"].post.responses["201"].content["application/json"].schema;
    expect([created.properties.id.type, created.properties.user_id.type]).toEqual(["integer", "integer"]);
    const user = document.paths["/api/v1/admin/users"].post.responses["201"].content["application/json"].schema;
    expect(user.properties.id.type).toBe("integer");
  });
});
