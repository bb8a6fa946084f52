import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, renderConfigTable, renderEnvExample, secretValues, variables } from "@llmgw/config";

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
    const config = loadConfig({ DEEPSEEK_API_KEY: "sk-d", OPENAI_API_KEY: "sk-o", ADMIN_TOKEN: "adm", API_KEYS: "a,b", WEBHOOK_SECRET: "wh", PORT: "1234" });
    expect(secretValues(config).sort()).toEqual(["a", "adm", "b", "sk-d", "sk-o", "wh"]);
  });
});
