import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, secretValues } from "@llmgw/config";
import { createLogger } from "@llmgw/logger";
import { createLoginThrottle } from "../src/services/login-throttle.js";
import { startTestApi, type TestApi } from "./support/test-api.js";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
const METRICS_TOKEN = `metrics-${randomUUID()}`;
let api: TestApi;
let base: string;

// The API on a real port: every request below comes over a socket from 127.0.0.1.
beforeAll(async () => {
  api = await startTestApi({ ADMIN_TOKEN, METRICS_TOKEN });
  await api.app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});

afterAll(() => api?.close());

const errorBody = (code: string, type: string, message: string) => ({ error: { message, type, param: null, code } });

describe("failed admin logins", () => {
  it("are throttled per address: after 10 a minute, 429 with Retry-After, even for the right token, on the admin API and the dashboard", async () => {
    const asAdmin = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    for (let attempt = 1; attempt <= 10; attempt++) {
      const guess = await fetch(`${base}/api/v1/admin/users`, asAdmin(`guess-${attempt}-${randomUUID()}`));
      expect([attempt, guess.status]).toEqual([attempt, 401]);
    }
    const throttled = await fetch(`${base}/api/v1/admin/users`, asAdmin(`guess-11-${randomUUID()}`));
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await throttled.json()).toEqual(
      errorBody("too_many_admin_failures", "rate_limit_error", `Too many failed admin logins from this address; try again in ${retryAfter} s.`),
    );
    // While refused, even the right token is not looked at: a guess made now would teach nothing.
    expect((await fetch(`${base}/api/v1/admin/users`, asAdmin(ADMIN_TOKEN))).status).toBe(429);
    expect((await fetch(`${base}/admin/queues/api/queues`, asAdmin(ADMIN_TOKEN))).status).toBe(429);
    const login = await fetch(`${base}/admin/queues/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: "manual",
    });
    expect([login.status, login.headers.get("set-cookie")]).toEqual([429, null]);
    // Another address is not affected.
    const elsewhere = await api.app.inject({ method: "GET", url: "/api/v1/admin/users", ...asAdmin(ADMIN_TOKEN), remoteAddress: "198.51.100.7" });
    expect(elsewhere.statusCode).toBe(200);
  });

  it("count over a sliding minute, per address, in bounded memory", () => {
    const clock = { ms: 1_000_000 };
    const throttle = createLoginThrottle({ maxFailures: 3, windowMs: 60_000, maxAddresses: 2, now: () => clock.ms });
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfterSeconds("a")).toBe(0);
      throttle.recordFailure("a");
      clock.ms += 10_000;
    }
    // Failures at 0, 10 and 20 s; now 30 s: the first leaves the window at 60 s.
    expect(throttle.retryAfterSeconds("a")).toBe(30);
    expect(throttle.retryAfterSeconds("b")).toBe(0);
    clock.ms += 30_000;
    expect(throttle.retryAfterSeconds("a")).toBe(0);
    throttle.recordFailure("a");
    expect(throttle.retryAfterSeconds("a")).toBe(10);
    // A third address pushes out the stalest: memory stays bounded whatever the spray.
    throttle.recordFailure("b");
    throttle.recordFailure("c");
    expect(throttle.retryAfterSeconds("a")).toBe(0);
  });
});

describe("GET /metrics with METRICS_TOKEN set", () => {
  const unauthorized = errorBody(
    "invalid_metrics_token",
    "authentication_error",
    "Incorrect or missing metrics token. Send it as 'Authorization: Bearer METRICS_TOKEN'.",
  );

  it("answers 401 without the token or with a wrong one, and the metrics with it", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${METRICS_TOKEN}x` }, { authorization: METRICS_TOKEN }, { authorization: `Bearer ${ADMIN_TOKEN}` }];
    for (const headers of attempts) {
      const refused = await fetch(`${base}/metrics`, { headers });
      expect(refused.status).toBe(401);
      const text = await refused.text();
      expect(JSON.parse(text)).toEqual(unauthorized);
      expect(text).not.toContain("llmgw_");
    }
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    const text = await scraped.text();
    expect(text).toContain("llmgw_http_requests_total");
    expect(text).not.toContain(METRICS_TOKEN);
  });
});

describe("Redis URL passwords in logs", () => {
  it("are masked in every line, whatever path they took into it", () => {
    const password = `pw-${randomUUID()}`;
    const config = loadConfig({ REDIS_URL: `redis://default:${encodeURIComponent(`${password}/x`)}@redis:6379` });
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ secrets: secretValues(config), destination });
    logger.warn({ url: config.redisUrl }, `connecting to ${decodeURIComponent(config.redisUrl)}`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(password);
    expect(lines[0]).toContain("redis://default:[REDACTED]@redis:6379");
  });
});
