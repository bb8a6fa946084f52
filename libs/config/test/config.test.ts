import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, maskUrlPassword, renderConfigTable, renderEnvExample, secretValues, variables } from "@llmgw/config";

describe("loadConfig", () => {
  it("applies the contract's defaults", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 8000,
      redisUrl: "redis://127.0.0.1:6379",
      cacheRedisUrl: "redis://127.0.0.1:6379",
      queuePrefix: "llmgw",
      databasePath: "data/api_keys.db",
      useDatabaseAuth: true,
      rateLimitEnabled: true,
      rateLimitPerMinute: 60,
      rateLimitPerHour: 1000,
      cacheEnabled: true,
      cacheTtl: 3600,
      workers: 1,
      workerConcurrency: 32,
      syncTimeoutMs: 120000,
      jobAttempts: 3,
      jobTimeoutMs: 600000,
      webhookAllowPrivate: false,
      workerMetricsPort: 9464,
      logLevel: "info",
      deepseekBaseUrl: "https://api.deepseek.com",
      openaiBaseUrl: "https://api.openai.com/v1",
    });
    expect(config.adminToken).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads values and lists", () => {
    const config = loadConfig({ PORT: "9000", API_KEYS: "a, b,,c", USE_DATABASE_AUTH: "false", CACHE_REDIS_URL: "redis://cache:6380" });
    expect(config.port).toBe(9000);
    expect(config.apiKeys).toEqual(["a", "b", "c"]);
    expect(config.useDatabaseAuth).toBe(false);
    expect(config.cacheRedisUrl).toBe("redis://cache:6380");
  });

  it.each([
    [{ PORT: "eighty" }, 'configuration error: PORT must be a whole number, got "eighty"'],
    [{ PORT: "70000" }, "configuration error: PORT must be between 0 and 65535, got 70000"],
    [{ REDIS_URL: "localhost:6379" }, "configuration error: REDIS_URL must start with redis: or rediss://"],
    [{ CACHE_ENABLED: "maybe" }, 'configuration error: CACHE_ENABLED must be true or false, got "maybe"'],
    [{ JOB_ATTEMPTS: "0" }, "configuration error: JOB_ATTEMPTS must be between 1 and 100, got 0"],
  ])("stops on a bad value with one line naming it: %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it("never quotes a secret's value in its error", () => {
    expect(() => loadConfig({ DEEPSEEK_API_KEY: "   " })).toThrow(/^configuration error: DEEPSEEK_API_KEY is not valid$/);
  });

  it.each(["ADMIN_TOKEN", "METRICS_TOKEN"])("refuses a %s shorter than 16 characters, in one line that does not quote it", (name) => {
    const short = "fifteen-chars-x";
    expect(() => loadConfig({ [name]: short })).toThrow(
      new ConfigError(name, "must be at least 16 characters long (use a long random string)"),
    );
    expect(() => loadConfig({ [name]: short })).toThrow(/^configuration error: \S+ must be at least 16 characters long \(use a long random string\)$/);
    expect(loadConfig({ [name]: `${short}y` })).toBeDefined();
  });

  it("reads TRUST_PROXY as off, on, a hop count or proxy addresses", () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.1, 192.168.0.0/16,loopback,::1" }).trustProxy).toEqual(["10.0.0.1", "192.168.0.0/16", "loopback", "::1"]);
    for (const bad of ["proxy.example.com", "10.0.0.0/33", "10.0.0.1/8/8"]) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/^configuration error: TRUST_PROXY must be true, false, a number of proxy hops, or comma-separated proxy addresses\/CIDRs, got "/);
    }
  });

  it("gives slow clients bounded time, but never less than a waiting caller needs", () => {
    expect(loadConfig({})).toMatchObject({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 72_000,
      connectionTimeoutMs: 600_000,
      workerMetricsHost: "127.0.0.1",
    });
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: "5000", HEADERS_TIMEOUT_MS: "6000" })).toThrow(
      "configuration error: HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS (5000), got 6000",
    );
    expect(loadConfig({ REQUEST_TIMEOUT_MS: "0", HEADERS_TIMEOUT_MS: "60000" }).requestTimeoutMs).toBe(0);
    expect(() => loadConfig({ SYNC_TIMEOUT_MS: "700000" })).toThrow(
      "configuration error: CONNECTION_TIMEOUT_MS must be 0 or longer than SYNC_TIMEOUT_MS (700000) and IDLE_TIMEOUT_MS (60000), or waiting callers would be cut off, got 600000",
    );
    expect(loadConfig({ SYNC_TIMEOUT_MS: "700000", CONNECTION_TIMEOUT_MS: "0" }).connectionTimeoutMs).toBe(0);
  });
});

describe("generated configuration docs", () => {
  it(".env.example lists every variable with its default", () => {
    expect(readFileSync(".env.example", "utf8")).toBe(renderEnvExample());
    for (const spec of Object.values(variables)) expect(renderEnvExample()).toContain(spec.name);
  });

  it("the README's configuration table matches the config table (npm run docs:config)", () => {
    expect(readFileSync("README.md", "utf8")).toContain(renderConfigTable());
  });
});

describe("secretValues", () => {
  it("lists the values of every secret variable and nothing else", () => {
    const config = loadConfig({
      DEEPSEEK_API_KEY: "sk-d",
      OPENAI_API_KEY: "sk-o",
      ADMIN_TOKEN: "admin-token-0123456789",
      METRICS_TOKEN: "metrics-token-0123456789",
      API_KEYS: "a,b",
      WEBHOOK_SECRET: "wh",
      PORT: "1234",
    });
    expect(secretValues(config).sort()).toEqual(["a", "admin-token-0123456789", "b", "metrics-token-0123456789", "sk-d", "sk-o", "wh"]);
  });

  it("lists the Redis URLs' passwords, as written and as sent", () => {
    const config = loadConfig({ REDIS_URL: "redis://default:s3cret%40pass@redis:6379/0", CACHE_REDIS_URL: "rediss://:cache-pass@cache:6380" });
    expect(secretValues(config).sort()).toEqual(["cache-pass", "s3cret%40pass", "s3cret@pass"]);
    expect(maskUrlPassword(config.redisUrl)).toBe("redis://default:***@redis:6379/0");
    expect(maskUrlPassword("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });

  it("lists DATABASE_URL's password and refuses a URL that is not postgres://", () => {
    const config = loadConfig({ DATABASE_URL: "postgres://gateway:pg%2Fsecret@db:5432/gateway" });
    expect(config.databaseUrl).toBe("postgres://gateway:pg%2Fsecret@db:5432/gateway");
    expect(config.databasePoolSize).toBe(10);
    expect(secretValues(config).sort()).toEqual(["pg%2Fsecret", "pg/secret"]);
    expect(maskUrlPassword(config.databaseUrl!)).toBe("postgres://gateway:***@db:5432/gateway");
    expect(() => loadConfig({ DATABASE_URL: "mysql://db/gateway" })).toThrow(
      "configuration error: DATABASE_URL must start with postgres: or postgresql://",
    );
    expect(() => loadConfig({ DATABASE_POOL_SIZE: "0" })).toThrow(/^configuration error: DATABASE_POOL_SIZE /);
  });
});
