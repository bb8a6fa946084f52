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

describe("the queue dashboard at /admin/queues", () => {
  it("answers 401 in the OpenAI error shape without the admin token, or with a wrong one", async () => {
    for (const url of pages) {
      for (const headers of [{}, { authorization: "Bearer not-the-token" }, { authorization: ADMIN_TOKEN }, { "x-api-key": ADMIN_TOKEN }]) {
        const response = await app.inject({ method: "GET", url, headers });
        expect([url, response.statusCode, response.json()]).toEqual([url, 401, invalidToken]);
      }
    }
    const wrongQuery = await app.inject({ method: "GET", url: "/admin/queues?token=not-the-token" });
    expect([wrongQuery.statusCode, wrongQuery.json(), wrongQuery.headers["set-cookie"]]).toEqual([401, invalidToken, undefined]);
  });

  it("answers 403 admin_disabled when ADMIN_TOKEN is unset, whatever is sent", async () => {
    for (const url of [...pages, `/admin/queues?token=${ADMIN_TOKEN}`]) {
      const response = await disabled.inject({ method: "GET", url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect([url, response.statusCode, response.json()]).toEqual([url, 403, adminDisabled]);
    }
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

  it("lets a browser in with ?token= once: a signed HttpOnly cookie, and a redirect that drops the token", async () => {
    const login = await app.inject({ method: "GET", url: `/admin/queues?status=failed&token=${ADMIN_TOKEN}` });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe("/admin/queues?status=failed");
    expect(login.headers["cache-control"]).toBe("no-store");
    expect(login.headers["referrer-policy"]).toBe("no-referrer");
    const cookie = String(login.headers["set-cookie"]);
    expect(cookie).toMatch(/^llmgw_queue_dashboard=\d+\.[\w-]{43}; Path=\/admin\/queues; Max-Age=28800; HttpOnly; SameSite=Strict$/);
    // The cookie holds a signed expiry, never the token.
    expect(cookie).not.toContain(ADMIN_TOKEN);

    const session = cookie.split(";")[0];
    for (const url of ["/admin/queues", "/admin/queues/api/queues"]) {
      const response = await app.inject({ method: "GET", url, headers: { cookie: `theme=dark; ${session}` } });
      expect([url, response.statusCode]).toEqual([url, 200]);
    }
    // The cookie opens the dashboard only, not the admin API.
    const adminApi = await app.inject({ method: "GET", url: "/api/v1/admin/stats", headers: { cookie: session } });
    expect(adminApi.statusCode).toBe(401);
  });

  it("refuses a forged, tampered or expired session cookie", async () => {
    const login = await app.inject({ method: "GET", url: `/admin/queues?token=${ADMIN_TOKEN}` });
    const [expiry, signature] = String(login.headers["set-cookie"]).split(";")[0].split("=")[1].split(".");
    const forged = [
      `${Number(expiry) + 3600}.${signature}`,
      `${expiry}.${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`,
      `1.${signature}`,
      "garbage",
      "",
    ];
    for (const value of forged) {
      const response = await app.inject({ method: "GET", url: "/admin/queues/api/queues", headers: { cookie: `llmgw_queue_dashboard=${value}` } });
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
