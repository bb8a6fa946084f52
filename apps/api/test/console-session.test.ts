import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildApp } from "../src/app.js";
import { startTestApi, type TestApi } from "./support/test-api.js";

// Issue 16: the web console signs in with ADMIN_TOKEN for a session cookie kept in Redis.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const csrf = { "x-console-csrf": "1" };
const COOKIE_FLAGS = /^llmgw_console=([A-Za-z0-9_-]{43}); Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/;

let api: TestApi;
let app: FastifyInstance;
let built: FastifyInstance;
let redis: Redis;
const consoleDirectory = mkdtempSync(join(tmpdir(), "llmgw-console-"));

beforeAll(async () => {
  api = await startTestApi({ ADMIN_TOKEN });
  app = api.app;
  // A stand-in for the built console: an index.html and one asset.
  mkdirSync(join(consoleDirectory, "assets"));
  writeFileSync(join(consoleDirectory, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(join(consoleDirectory, "assets", "app-abc.js"), "console.log('hi')");
  built = await buildApp(api.context, { consoleDirectory });
  redis = new Redis(inject("redisUrl"));
});

afterAll(async () => {
  await built?.close();
  await api?.close();
  redis?.disconnect();
});

async function signIn(target: FastifyInstance = app, remoteAddress = "10.0.0.1") {
  const response = await target.inject({ method: "POST", url: "/console/api/session", headers: csrf, payload: { token: ADMIN_TOKEN }, remoteAddress });
  expect(response.statusCode).toBe(200);
  const cookie = String(response.headers["set-cookie"]);
  return { response, cookie: `llmgw_console=${COOKIE_FLAGS.exec(cookie)![1]}`, setCookie: cookie };
}

describe("console sign-in", () => {
  it("exchanges ADMIN_TOKEN for an opaque HttpOnly, SameSite=Strict cookie stored in Redis, hashed", async () => {
    const { response, setCookie, cookie } = await signIn();
    expect(response.json()).toEqual({ object: "console_session", signed_in: true, expires_in: 43200 });
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(setCookie).toMatch(COOKIE_FLAGS);
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const id = cookie.split("=")[1];
    const keys = await redis.keys(`${api.context.config.queuePrefix}:console-session:*`);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(keys.join()).not.toContain(id);
    const ttl = await redis.ttl(keys[0]);
    expect(ttl).toBeGreaterThan(43000);
  });

  it("sets Secure when the request came over TLS through a trusted proxy", async () => {
    const proxied = await startTestApi({ ADMIN_TOKEN, TRUST_PROXY: "true" });
    try {
      const response = await proxied.app.inject({
        method: "POST",
        url: "/console/api/session",
        headers: { ...csrf, "x-forwarded-proto": "https" },
        payload: { token: ADMIN_TOKEN },
      });
      expect(String(response.headers["set-cookie"])).toMatch(/; Secure$/);
    } finally {
      await proxied.close();
    }
  });

  it("opens the admin API to the cookie, and the session is known to another instance on the same Redis", async () => {
    const { cookie } = await signIn();
    const users = await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { cookie } });
    expect(users.statusCode).toBe(200);
    const other = await startTestApi({ ADMIN_TOKEN, QUEUE_PREFIX: api.context.config.queuePrefix });
    try {
      expect((await other.app.inject({ method: "GET", url: "/api/v1/admin/stats", headers: { cookie } })).statusCode).toBe(200);
    } finally {
      await other.close();
    }
  });

  it("ends every session when ADMIN_TOKEN changes, and admits none while it is unset", async () => {
    const { cookie } = await signIn();
    const prefix = api.context.config.queuePrefix;
    const rotated = await startTestApi({ ADMIN_TOKEN: `rotated-${randomUUID()}`, QUEUE_PREFIX: prefix });
    const disabled = await startTestApi({ QUEUE_PREFIX: prefix });
    try {
      const afterRotation = await rotated.app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { cookie } });
      expect(afterRotation.statusCode).toBe(401);
      expect((await rotated.app.inject({ method: "GET", url: "/console/api/session", headers: { cookie } })).json().signed_in).toBe(false);
      const whileDisabled = await disabled.app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { cookie } });
      expect(whileDisabled.statusCode).toBe(403);
      expect(whileDisabled.json().error.code).toBe("admin_disabled");
      const signIn = await disabled.app.inject({ method: "POST", url: "/console/api/session", headers: csrf, payload: { token: ADMIN_TOKEN } });
      expect(signIn.statusCode).toBe(403);
      // The original token still opens it.
      expect((await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { cookie } })).statusCode).toBe(200);
    } finally {
      await rotated.close();
      await disabled.close();
    }
  });

  it("refuses a wrong token with 401 and throttles an address after 10 failures, as the admin API does", async () => {
    const remoteAddress = "10.9.9.9";
    for (let i = 0; i < 10; i++) {
      const wrong = await app.inject({ method: "POST", url: "/console/api/session", headers: csrf, payload: { token: "nope" }, remoteAddress });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers["set-cookie"]).toBeUndefined();
    }
    const throttled = await app.inject({ method: "POST", url: "/console/api/session", headers: csrf, payload: { token: ADMIN_TOKEN }, remoteAddress });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error.code).toBe("too_many_admin_failures");
    expect(Number(throttled.headers["retry-after"])).toBeGreaterThan(0);
    // The same throttle: the bearer route from that address is refused too.
    const bearer = await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, remoteAddress });
    expect(bearer.statusCode).toBe(429);
  });

  it("refuses a sign-in without the CSRF header or from another origin", async () => {
    const bare = await app.inject({ method: "POST", url: "/console/api/session", payload: { token: ADMIN_TOKEN } });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().error.code).toBe("console_csrf_refused");
    const foreign = await app.inject({
      method: "POST",
      url: "/console/api/session",
      headers: { ...csrf, origin: "https://evil.example" },
      payload: { token: ADMIN_TOKEN },
    });
    expect(foreign.statusCode).toBe(403);
  });
});

describe("cookie-authenticated admin changes", () => {
  it("refuses a change without the CSRF header, and accepts it with the header and a same-origin Origin", async () => {
    const { cookie } = await signIn();
    const payload = { username: `u-${randomUUID()}`, email: "u@example.com" };
    const refused = await app.inject({ method: "POST", url: "/api/v1/admin/users", headers: { cookie }, payload });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      error: {
        message: "A console request that changes something must come from the console itself (same origin, with its x-console-csrf header).",
        type: "permission_error",
        param: null,
        code: "console_csrf_refused",
      },
    });
    const crossSite = await app.inject({ method: "POST", url: "/api/v1/admin/users", headers: { cookie, ...csrf, origin: "http://evil.example" }, payload });
    expect(crossSite.statusCode).toBe(403);
    const accepted = await app.inject({ method: "POST", url: "/api/v1/admin/users", headers: { cookie, ...csrf, origin: "http://localhost:80" }, payload });
    expect(accepted.statusCode).toBe(201);
  });

  it("answers 401 to a made-up session cookie, without counting it as a failed login", async () => {
    const remoteAddress = "10.7.7.7";
    for (let i = 0; i < 12; i++) {
      const response = await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { cookie: `llmgw_console=${"x".repeat(43)}` }, remoteAddress });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.message).toBe("The console session has ended; sign in again.");
    }
    expect((await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, remoteAddress })).statusCode).toBe(200);
  });
});

describe("console sign-out", () => {
  it("ends the session in Redis and clears the cookie", async () => {
    const { cookie } = await signIn();
    expect((await app.inject({ method: "GET", url: "/console/api/session", headers: { cookie } })).json().signed_in).toBe(true);
    const refused = await app.inject({ method: "DELETE", url: "/console/api/session", headers: { cookie } });
    expect(refused.statusCode).toBe(403);
    const out = await app.inject({ method: "DELETE", url: "/console/api/session", headers: { cookie, ...csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers["set-cookie"])).toBe("llmgw_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    expect((await app.inject({ method: "GET", url: "/console/api/session", headers: { cookie } })).json().signed_in).toBe(false);
    expect((await app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { cookie } })).statusCode).toBe(401);
  });
});

describe("console pages", () => {
  it.each(["overview", "keys", "usage", "jobs"])("/console/%s redirects to sign-in without a session", async (page) => {
    const response = await built.inject({ method: "GET", url: `/console/${page}` });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe(`/console/sign-in?next=${page}`);
  });

  it("serves the page with a strict content security policy to a signed-in browser, and the sign-in page to anyone", async () => {
    const { cookie } = await signIn(built);
    const page = await built.inject({ method: "GET", url: "/console/usage", headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("<title>console</title>");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page.headers["cache-control"]).toBe("no-store");
    const signInPage = await built.inject({ method: "GET", url: "/console/sign-in" });
    expect(signInPage.statusCode).toBe(200);
    const asset = await built.inject({ method: "GET", url: "/console/assets/app-abc.js" });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["cache-control"]).toContain("immutable");
  });

  it("serves the page as it is on disk now, so a rebuild while the API runs takes effect", async () => {
    const { cookie } = await signIn(built);
    writeFileSync(join(consoleDirectory, "index.html"), "<!doctype html><title>rebuilt</title>");
    const page = await built.inject({ method: "GET", url: "/console/jobs", headers: { cookie } });
    expect(page.body).toContain("<title>rebuilt</title>");
    writeFileSync(join(consoleDirectory, "index.html"), "<!doctype html><title>console</title>");
  });

  it("answers 503 console_not_built in the OpenAI error shape when the console was not built", async () => {
    const missing = await buildApp(api.context, { consoleDirectory: join(consoleDirectory, "nowhere") });
    try {
      for (const url of ["/console/sign-in", "/console/overview", "/console/assets/app.js"]) {
        const response = await missing.inject({ method: "GET", url });
        expect(response.statusCode).toBe(503);
        expect(response.json()).toEqual({
          error: {
            message: "The web console is not built on this host: run `npm run build` (it builds apps/console), then restart the API.",
            type: "server_error",
            param: null,
            code: "console_not_built",
          },
        });
      }
    } finally {
      await missing.close();
    }
  });
});
