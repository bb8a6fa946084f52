import { createHmac, randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetPeriod, jobKeys } from "@llmgw/jobs";
import { startTestApi, type TestApi } from "./support/test-api.js";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const SECRET = `jwt-secret-${randomUUID()}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** What a customer's backend does: an HS256 JWT naming the key. */
function sign(claims: object, secret = SECRET, header: object = { alg: "HS256", typ: "JWT" }): string {
  const unsigned = `${part(header)}.${part(claims)}`;
  return `${unsigned}.${createHmac("sha256", secret).update(unsigned).digest("base64url")}`;
}

describe("client tokens (JWT_SECRET_KEY)", () => {
  let api: TestApi;
  let app: FastifyInstance;
  let keyId: number;
  const call = (token: string, remoteAddress?: string) =>
    app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${token}` }, ...(remoteAddress ? { remoteAddress } : {}) });
  const newKey = async (payload: object = {}) => {
    const user = (await app.inject({ method: "POST", url: "/api/v1/admin/users", headers: admin, payload: { username: `u-${randomUUID()}`, email: "u@example.com" } })).json();
    return (await app.inject({ method: "POST", url: "/api/v1/admin/api-keys", headers: admin, payload: { user_id: user.id, key_name: "browser", ...payload } })).json();
  };

  beforeAll(async () => {
    api = await startTestApi({ ADMIN_TOKEN, JWT_SECRET_KEY: SECRET, DEEPSEEK_API_KEY: "sk-never-called", DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1" });
    app = api.app;
    keyId = (await newKey()).id;
  });
  afterAll(() => api.close());

  it("accepts a valid token in place of the key", async () => {
    const response = await call(sign({ sub: String(keyId), exp: now() + 600 }));
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ["expired", () => sign({ sub: String(keyId), exp: now() - 1 })],
    ["without exp", () => sign({ sub: String(keyId) })],
    ["living more than 24 h", () => sign({ sub: String(keyId), exp: now() + 24 * 3600 + 60 })],
    ["not valid yet (nbf)", () => sign({ sub: String(keyId), exp: now() + 600, nbf: now() + 300 })],
    ["forged (another secret)", () => sign({ sub: String(keyId), exp: now() + 600 }, `other-${SECRET}`)],
    ["of another algorithm", () => sign({ sub: String(keyId), exp: now() + 600 }, SECRET, { alg: "HS512", typ: "JWT" })],
    ["unsigned (alg none)", () => `${part({ alg: "none" })}.${part({ sub: String(keyId), exp: now() + 600 })}.`],
    ["naming no key", () => sign({ sub: "999999", exp: now() + 600 })],
    ["naming a key by something else than its id", () => sign({ sub: "static-0123456789abcdef", exp: now() + 600 })],
  ])("refuses a token %s with 401 invalid_api_key", async (_name, token) => {
    const response = await call(token());
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe("invalid_api_key");
  });

  it("stops a revoked or switched-off key's tokens", async () => {
    const key = await newKey();
    const token = sign({ sub: String(key.id), exp: now() + 600 });
    expect((await call(token)).statusCode).toBe(200);
    await app.inject({ method: "PATCH", url: `/api/v1/admin/api-keys/${key.id}`, headers: admin, payload: { is_active: false } });
    expect((await call(token)).statusCode).toBe(401);
    await app.inject({ method: "PATCH", url: `/api/v1/admin/api-keys/${key.id}`, headers: admin, payload: { is_active: true } });
    expect((await call(token)).statusCode).toBe(200);
    await app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${key.id}`, headers: admin });
    expect((await call(token)).statusCode).toBe(401);
  });

  it("applies the key's allow-list and models to its tokens", async () => {
    const key = await newKey({ allowed_ips: ["198.51.100.0/24"], models: ["deepseek-chat"] });
    const token = sign({ sub: String(key.id), exp: now() + 600 });
    expect((await call(token)).json().error.code).toBe("ip_not_allowed");
    expect((await call(token, "198.51.100.9")).statusCode).toBe(200);
    const otherModel = await app.inject({
      method: "POST",
      url: "/v1/chat/completions",
      headers: { authorization: `Bearer ${token}` },
      remoteAddress: "198.51.100.9",
      payload: { model: "deepseek-reasoner", messages: [{ role: "user", content: "hi" }] },
    });
    expect(otherModel.statusCode).toBe(403);
    expect(otherModel.json().error.code).toBe("model_not_allowed");
  });

  it("applies the key's token budget to its tokens", async () => {
    const key = await newKey({ token_budget_daily: 100 });
    const token = sign({ sub: String(key.id), exp: now() + 600 });
    const submit = () =>
      app.inject({
        method: "POST",
        url: "/v1/jobs",
        headers: { authorization: `Bearer ${token}` },
        payload: { request: { model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] } },
      });
    expect((await submit()).statusCode).toBe(202);
    // What workers add as requests end (libs/jobs spending.ts); no worker runs here.
    const counter = jobKeys(api.context.config.queuePrefix).spending("key", String(key.id), budgetPeriod("daily", Date.now()).label);
    await api.context.redis.incrby(counter, 100);
    const refused = await submit();
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe("insufficient_quota");
  });
});

describe("client tokens without JWT_SECRET_KEY", () => {
  it("takes a token for a key, which it is not: 401", async () => {
    const api = await startTestApi({ ADMIN_TOKEN });
    try {
      const response = await api.app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${sign({ sub: "1", exp: now() + 600 })}` } });
      expect(response.statusCode).toBe(401);
    } finally {
      await api.close();
    }
  });
});
