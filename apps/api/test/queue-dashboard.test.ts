import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadConfig } from "@llmgw/config";
import { createLogger } from "@llmgw/logger";
import { buildApp } from "../src/app.js";
import { createApiContext, type ApiContext } from "../src/context.js";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const folder = mkdtempSync(join(tmpdir(), "llmgw-queue-dashboard-"));
let context: ApiContext;
let app: FastifyInstance;
let disabled: FastifyInstance;

beforeAll(async () => {
  const config = loadConfig({
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: `test-${randomUUID()}`,
    DATABASE_PATH: join(folder, "keys.db"),
    ADMIN_TOKEN,
  });
  context = await createApiContext(config, createLogger({ level: "silent" }));
  app = await buildApp(context);
  // The same context without ADMIN_TOKEN: the dashboard must refuse everyone.
  disabled = await buildApp({ ...context, config: { ...context.config, adminToken: undefined } });
});

afterAll(async () => {
  await disabled?.close();
  await app?.close();
  await context?.close();
  rmSync(folder, { recursive: true, force: true });
});

const invalidToken = {
  error: {
    message: "Incorrect or missing admin token. Send it as 'Authorization: Bearer ADMIN_TOKEN'.",
    type: "authentication_error",
    param: null,
    code: "invalid_admin_token",
  },
};
const adminDisabled = {
  error: {
    message: "The admin API is disabled: set ADMIN_TOKEN in the API's environment to enable it.",
    type: "permission_error",
    param: null,
    code: "admin_disabled",
  },
};
const pages = ["/admin/queues", "/admin/queues/", "/admin/queues/api/queues", "/admin/queues/queue/completions"];

// Failed logins are throttled per address (10 a minute): each test calls from addresses of its own.
let addresses = 0;
const freshAddress = () => `10.1.${Math.floor(++addresses / 250)}.${addresses % 250}`;

/** Signs in as a browser does: the form's POST, the token in the body. */
const signIn = (instance: FastifyInstance, token: string, extra: { remoteAddress?: string; headers?: Record<string, string> } = {}) =>
  instance.inject({
    method: "POST",
    url: "/admin/queues/login",
    headers: { "content-type": "application/x-www-form-urlencoded", ...extra.headers },
    payload: new URLSearchParams({ token }).toString(),
    remoteAddress: extra.remoteAddress ?? freshAddress(),
  });

const sessionOf = (response: { headers: Record<string, unknown> }) => String(response.headers["set-cookie"]).split(";")[0];

describe("the queue dashboard at /admin/queues", () => {
  it("answers 401 in the OpenAI error shape without the admin token, or with a wrong one", async () => {
    for (const url of pages) {
      const remoteAddress = freshAddress();
      for (const headers of [{}, { authorization: "Bearer not-the-token" }, { authorization: ADMIN_TOKEN }, { "x-api-key": ADMIN_TOKEN }]) {
        const response = await app.inject({ method: "GET", url, headers, remoteAddress });
        expect([url, response.statusCode, response.json()]).toEqual([url, 401, invalidToken]);
      }
    }
    const wrong = await signIn(app, "not-the-token");
    expect([wrong.statusCode, wrong.json(), wrong.headers["set-cookie"]]).toEqual([401, invalidToken, undefined]);
  });

  it("answers 403 admin_disabled when ADMIN_TOKEN is unset, whatever is sent", async () => {
    for (const url of [...pages, `/admin/queues?token=${ADMIN_TOKEN}`, "/admin/queues/login"]) {
      const response = await disabled.inject({ method: "GET", url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect([url, response.statusCode, response.json()]).toEqual([url, 403, adminDisabled]);
    }
    const login = await signIn(disabled, ADMIN_TOKEN);
    expect([login.statusCode, login.json(), login.headers["set-cookie"]]).toEqual([403, adminDisabled, undefined]);
  });

  it("serves the UI and its API with Authorization: Bearer ADMIN_TOKEN", async () => {
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const page = await app.inject({ method: "GET", url: "/admin/queues", headers });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain('<base href="/admin/queues/" />');
    expect(page.body).toContain("<title>llm-gateway</title>");
    const api = await app.inject({ method: "GET", url: "/admin/queues/api/queues", headers });
    expect(api.statusCode).toBe(200);
    expect(api.json().queues.map((queue: { name: string }) => queue.name).sort()).toEqual(["completions", "webhooks"]);
  });

  it("never takes the token in a URL: 400 naming the sign-in form, and no cookie", async () => {
    for (const url of [`/admin/queues?token=${ADMIN_TOKEN}`, `/admin/queues/api/queues?status=failed&token=${ADMIN_TOKEN}`, "/admin/queues?token="]) {
      const response = await app.inject({ method: "GET", url, remoteAddress: freshAddress() });
      expect([url, response.statusCode, response.headers["set-cookie"]]).toEqual([url, 400, undefined]);
      expect(response.json()).toEqual({
        error: {
          message:
            "The admin token never goes in a URL (browser history, proxies and access logs keep URLs): sign in at /admin/queues/login or send 'Authorization: Bearer ADMIN_TOKEN'.",
          type: "invalid_request_error",
          param: "token",
          code: "invalid_request",
        },
      });
    }
  });

  it("lets a browser sign in with a form: the token in a POST body, a signed HttpOnly cookie, a redirect", async () => {
    // A browser without a session is sent to the form, which posts the token and asks browsers not to remember URLs.
    const bounced = await app.inject({ method: "GET", url: "/admin/queues", headers: { accept: "text/html,application/xhtml+xml" } });
    expect([bounced.statusCode, bounced.headers.location]).toEqual([303, "/admin/queues/login"]);
    const form = await app.inject({ method: "GET", url: "/admin/queues/login" });
    expect([form.statusCode, form.headers["content-type"], form.headers["cache-control"]]).toEqual([200, "text/html; charset=utf-8", "no-store"]);
    expect(form.body).toContain('<form method="post" action="/admin/queues/login">');
    expect(form.body).toContain('<input type="password" name="token"');

    const login = await signIn(app, ADMIN_TOKEN);
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe("/admin/queues");
    expect(login.headers["cache-control"]).toBe("no-store");
    expect(login.headers["referrer-policy"]).toBe("no-referrer");
    const cookie = String(login.headers["set-cookie"]);
    // Plain HTTP, no trusted proxy: not Secure (a browser would drop a Secure cookie set over http).
    expect(cookie).toMatch(/^llmgw_queue_dashboard=\d+\.[\w-]{43}; Path=\/admin\/queues; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    // The cookie holds a signed expiry, never the token.
    expect(cookie).not.toContain(ADMIN_TOKEN);

    const session = sessionOf(login);
    for (const url of ["/admin/queues", "/admin/queues/api/queues"]) {
      const response = await app.inject({ method: "GET", url, headers: { cookie: `theme=dark; ${session}` } });
      expect([url, response.statusCode]).toEqual([url, 200]);
    }
    // The cookie opens the dashboard only, not the admin API.
    const adminApi = await app.inject({ method: "GET", url: "/api/v1/admin/stats", headers: { cookie: session }, remoteAddress: freshAddress() });
    expect(adminApi.statusCode).toBe(401);
  });

  it("marks the cookie Secure when TLS ended at a proxy TRUST_PROXY trusts, and only then", async () => {
    const behindProxy = await buildApp({ ...context, config: { ...context.config, trustProxy: ["127.0.0.1"] } });
    try {
      const viaTls = await signIn(behindProxy, ADMIN_TOKEN, { headers: { "x-forwarded-proto": "https" }, remoteAddress: "127.0.0.1" });
      expect(String(viaTls.headers["set-cookie"])).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
      // The same header from an address the gateway does not trust is ignored.
      const spoofed = await signIn(behindProxy, ADMIN_TOKEN, { headers: { "x-forwarded-proto": "https" }, remoteAddress: "203.0.113.9" });
      expect(String(spoofed.headers["set-cookie"])).not.toContain("Secure");
    } finally {
      await behindProxy.close();
    }
    // TRUST_PROXY=false (the default): X-Forwarded-Proto means nothing.
    const direct = await signIn(app, ADMIN_TOKEN, { headers: { "x-forwarded-proto": "https" }, remoteAddress: "127.0.0.1" });
    expect(String(direct.headers["set-cookie"])).not.toContain("Secure");
  });

  it("refuses a forged, tampered or expired session cookie", async () => {
    const login = await signIn(app, ADMIN_TOKEN);
    const [expiry, signature] = sessionOf(login).split("=")[1].split(".");
    const forged = [
      `${Number(expiry) + 3600}.${signature}`,
      `${expiry}.${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`,
      `1.${signature}`,
      "garbage",
      "",
    ];
    const remoteAddress = freshAddress();
    for (const value of forged) {
      const response = await app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { cookie: `llmgw_queue_dashboard=${value}` }, remoteAddress });
      expect([value, response.statusCode]).toEqual([value, 401]);
    }
    // A cookie signed under one token means nothing once the token changes.
    const rotated = await buildApp({ ...context, config: { ...context.config, adminToken: `${ADMIN_TOKEN}-rotated` } });
    try {
      const response = await rotated.inject({ method: "GET", url: "/admin/queues", headers: { cookie: `llmgw_queue_dashboard=${expiry}.${signature}` } });
      expect(response.statusCode).toBe(401);
    } finally {
      await rotated.close();
    }
  });
});
