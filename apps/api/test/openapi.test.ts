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

const folder = mkdtempSync(join(tmpdir(), "llmgw-openapi-"));
let context: ApiContext;
let app: FastifyInstance;

beforeAll(async () => {
  const config = loadConfig({
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: `test-${randomUUID()}`,
    DATABASE_PATH: join(folder, "keys.db"),
    ADMIN_TOKEN: `admin-${randomUUID()}`,
    DEEPSEEK_API_KEY: "sk-openapi-test",
  });
  context = await createApiContext(config, createLogger({ level: "silent" }));
  app = await buildApp(context);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await context?.close();
  rmSync(folder, { recursive: true, force: true });
});

/**
 * Every route the app registered, read from Fastify's own route tree (`printRoutes`), which
 * knows nothing of the OpenAPI document: a route added without a schema still shows up here.
 */
function registeredRoutes(instance: FastifyInstance): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const path: string[] = [];
  for (const line of instance.printRoutes({ commonPrefix: false }).split("\n")) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    path.length = match[1].length / 4;
    path.push(match[2]);
    for (const method of match[3]?.split(", ") ?? []) routes.push({ method, url: path.join("") });
  }
  return routes;
}

/**
 * Routes the document must describe: not the automatic HEAD twins, not the docs UI itself, not
 * bull-board, not the web console's pages and assets (its session API under /console/api is described).
 */
function documentedRoutes(instance: FastifyInstance) {
  return registeredRoutes(instance).filter(
    ({ method, url }) =>
      method !== "HEAD" &&
      !/^\/docs(\/|$)/.test(url) &&
      !/^\/admin\/queues(\/|$)/.test(url) &&
      !(/^\/console(\/|$)/.test(url) && !url.startsWith("/console/api/")),
  );
}

type Response = { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Record<string, unknown> }> };
type Operation = { tags?: string[]; summary?: string; security?: Record<string, string[]>[]; responses: Record<string, Response> };
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  security: Record<string, string[]>[];
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> };
}

const clientSecurity = [{ bearerAuth: [] }, { apiKeyHeader: [] }];

describe("the OpenAPI document at /docs/json", () => {
  let doc: OpenApiDocument;

  beforeAll(async () => {
    const response = await app.inject({ method: "GET", url: "/docs/json" });
    expect(response.statusCode).toBe(200);
    doc = response.json();
  });

  it("reads the route tree the way Fastify prints it", () => {
    const routes = registeredRoutes(app);
    expect(routes).toContainEqual({ method: "POST", url: "/v1/chat/completions" });
    expect(routes).toContainEqual({ method: "GET", url: "/docs/json" });
    expect(routes).toContainEqual({ method: "GET", url: "/admin/queues/api/queues" });
    expect(routes).toContainEqual({ method: "HEAD", url: "/healthz" });
  });

  it("describes every route the app registers, and nothing else", () => {
    const expected = documentedRoutes(app).map(({ method, url }) => `${method} ${url.replace(/:(\w+)/g, "{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(expected.length).toBeGreaterThanOrEqual(10);
    expect(documented.sort()).toEqual([...new Set(expected)].sort());
    for (const route of ["GET /healthz", "GET /readyz", "GET /metrics", "POST /v1/chat/completions", "GET /api/v1/models"]) {
      expect(documented).toContain(route);
    }
  });

  it("gives every operation a tag and a summary", () => {
    const lacking = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => !operation.tags?.length || !operation.summary)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(lacking).toEqual([]);
  });

  it("declares the security schemes and which routes need which", () => {
    expect(doc.components.securitySchemes).toMatchObject({
      bearerAuth: { type: "http", scheme: "bearer" },
      apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
      consoleSession: { type: "apiKey", in: "cookie", name: "llmgw_console" },
    });
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const effective = operation.security ?? doc.security;
        for (const requirement of effective) {
          for (const scheme of Object.keys(requirement)) expect(Object.keys(doc.components.securitySchemes)).toContain(scheme);
        }
        const expected = path.startsWith("/api/v1/admin/")
          ? [{ bearerAuth: [] }, { consoleSession: [] }]
          : /^\/(api\/)?v1\//.test(path)
            ? clientSecurity
            : [];
        expect({ route: `${method} ${path}`, security: effective }).toEqual({ route: `${method} ${path}`, security: expected });
      }
    }
  });

  it("declares the error answers each route can give, in the OpenAI error shape", () => {
    const errorShape = { type: "object", required: ["error"] };
    const codes = (method: string, path: string) => Object.keys(doc.paths[path][method].responses).sort();
    for (const prefix of ["/v1", "/api/v1"]) {
      const chat = doc.paths[`${prefix}/chat/completions`].post.responses;
      expect(codes("post", `${prefix}/chat/completions`)).toEqual(
        ["200", "400", "401", "403", "404", "408", "409", "413", "415", "429", "502", "503", "504"].sort(),
      );
      for (const status of ["401", "408", "429", "502", "504"]) {
        expect(chat[status].content?.["application/json"].schema).toMatchObject(errorShape);
      }
      for (const status of ["502", "504"]) expect(Object.keys(chat[status].headers ?? {})).toContain("x-should-retry");
      expect(chat["429"].description).toContain("rate_limit_exceeded");
      expect(Object.keys(chat["429"].headers ?? {})).toEqual(expect.arrayContaining(["x-ratelimit-remaining-requests", "retry-after"]));
      // The success answer is documented (JSON or SSE) but declared to the document only.
      expect(Object.keys(chat["200"].content ?? {}).sort()).toEqual(["application/json", "text/event-stream"]);

      const read = doc.paths[`${prefix}/jobs/{id}`].get.responses;
      expect(Object.keys(read["200"].headers ?? {})).toEqual(expect.arrayContaining(["x-ratelimit-limit-reads", "x-ratelimit-remaining-reads"]));
      expect(Object.keys(read["429"].headers ?? {})).toEqual(expect.arrayContaining(["x-ratelimit-reset-reads", "retry-after"]));

      const events = doc.paths[`${prefix}/jobs/{id}/events`].get.responses;
      expect(events["429"].description).toContain("too_many_connections");
      expect(Object.keys(events["200"].headers ?? {})).toEqual(expect.arrayContaining(["x-ratelimit-limit-streams", "x-ratelimit-remaining-streams"]));

      const socket = doc.paths[`${prefix}/ws`].get.responses;
      expect(socket["429"].description).toContain("too_many_connections");
      expect(Object.keys(socket["429"].headers ?? {})).toEqual(expect.arrayContaining(["x-ratelimit-limit-sockets", "x-ratelimit-remaining-sockets"]));
      expect(socket["401"].content?.["application/json"].schema).toMatchObject(errorShape);
      expect(Object.keys(doc.paths[`${prefix}/models`].get.responses)).toEqual(expect.arrayContaining(["200", "401"]));
    }
    for (const [path, operations] of Object.entries(doc.paths).filter(([path]) => path.startsWith("/api/v1/admin/"))) {
      for (const [method, operation] of Object.entries(operations)) {
        expect({ route: `${method} ${path}`, description: operation.responses["429"]?.description }).toEqual({
          route: `${method} ${path}`,
          description: expect.stringContaining("too_many_admin_failures"),
        });
      }
    }
  });

  it("hides the queue dashboard's routes", () => {
    expect(Object.keys(doc.paths).filter((path) => path.startsWith("/admin/queues"))).toEqual([]);
  });
});

describe("GET /docs", () => {
  it("renders Swagger UI as HTML with its assets", async () => {
    const page = await app.inject({ method: "GET", url: "/docs" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain('<div id="swagger-ui"></div>');
    // Served by @fastify/static (whose content-disposition@3 asks for Node 22; this proves it runs here).
    for (const asset of ["/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-initializer.js"]) {
      const response = await app.inject({ method: "GET", url: asset });
      expect([asset, response.statusCode, response.headers["content-type"]]).toEqual([asset, 200, "application/javascript; charset=utf-8"]);
    }
  });
});
