import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApiKeyRepository, hashApiKey, openDatabase, openPostgresStore } from "@llmgw/store";
import { createPostgresDatabase, freePort, runAdminCli, uniqueDatabaseName } from "@llmgw/testing";

const cli = resolve("apps/api/dist/admin-cli.js");
const folder = mkdtempSync(join(tmpdir(), "llmgw-admin-cli-"));
const databasePath = join(folder, "data", "keys.db");

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npx tsc -b\` first`);
});

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Runs the built CLI in the temp folder with only the variables given (no .env there). */
const admin = (args: string[], env: Record<string, string> = {}) => runAdminCli(args, { cwd: folder, env: { DATABASE_PATH: databasePath, ...env } });

describe("admin CLI", () => {
  it("creates a user and a key, lists them without the key, and revokes the key", async () => {
    const user = await admin(["create-user", "--username", "alice", "--email", "alice@example.com", "--monthly-tokens", "2000000"]);
    expect(user.stderr).toBe("");
    expect(user.code).toBe(0);
    const userRecord = JSON.parse(user.stdout);
    expect(userRecord).toEqual({
      id: 1,
      username: "alice",
      email: "alice@example.com",
      created_at: expect.any(Number),
      is_active: true,
      token_budget_daily: null,
      token_budget_monthly: 2_000_000,
    });

    const duplicate = await admin(["create-user", "--username", "alice", "--email", "other@example.com"]);
    expect(duplicate).toEqual({ code: 1, stdout: "", stderr: "error: Username 'alice' already exists.\n" });

    const key = await admin([
      "create-key", "--user-id", "1", "--name", "dev", "--per-minute", "5", "--models", "deepseek-chat, gpt-4o",
      "--expires-at", "2100-01-01T00:00:00Z", "--daily-tokens", "50000", "--max-concurrent", "4",
    ]);
    expect(key.code).toBe(0);
    const keyRecord = JSON.parse(key.stdout);
    expect(keyRecord).toEqual({
      id: 1,
      user_id: userRecord.id,
      key_name: "dev",
      key_prefix: keyRecord.api_key.slice(0, 10),
      rate_limit_per_minute: 5,
      rate_limit_per_hour: null,
      models: ["deepseek-chat", "gpt-4o"],
      expires_at: 4102444800,
      allowed_ips: null,
      is_active: true,
      token_budget_daily: 50_000,
      token_budget_monthly: null,
      max_concurrent: 4,
      created_at: expect.any(Number),
      last_used_at: null,
      revoked_at: null,
      api_key: expect.stringMatching(/^gw-[0-9A-Za-z]{32}$/),
    });

    // The key the CLI printed is the one the API will accept.
    const db = openDatabase(databasePath);
    expect((await createApiKeyRepository(db).findActiveByHash(hashApiKey(keyRecord.api_key)))?.id).toBe(keyRecord.id);
    db.close();

    const users = await admin(["list-users"]);
    expect(JSON.parse(users.stdout)).toEqual([userRecord]);
    const keys = await admin(["list-keys", "--user-id", "1"]);
    const { api_key: apiKey, ...listed } = keyRecord;
    expect(JSON.parse(keys.stdout)).toEqual([listed]);
    expect(keys.stdout).not.toContain(apiKey);

    // No Redis at REDIS_URL (a port nobody listens on): revoked all the same, and it says what that means.
    const noRedis = `redis://127.0.0.1:${await freePort()}`;
    expect(await admin(["revoke-key", "--id", "1"], { REDIS_URL: noRedis })).toEqual({
      code: 0,
      stdout: `${JSON.stringify({ id: 1, revoked: true, broadcast: false }, null, 2)}\n`,
      stderr: `warning: Redis at ${noRedis} is not reachable; running API instances drop the key when their auth cache entry expires (within 5 s), but its open streams, sockets and jobs go on\n`,
    });
    expect(await admin(["revoke-key", "--id", "1"])).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: no active API key with id 1\n",
    });
    expect(JSON.parse((await admin(["list-keys"])).stdout)).toEqual([]);
    const all = JSON.parse((await admin(["list-keys", "--all"])).stdout);
    expect(all.map((record: { id: number; revoked_at: number | null }) => [record.id, typeof record.revoked_at])).toEqual([
      [1, "number"],
    ]);
  });

  it("writes into PostgreSQL when DATABASE_URL is set, and never touches DATABASE_PATH then", async () => {
    const databaseUrl = await createPostgresDatabase(inject("postgresUrl"), uniqueDatabaseName("admin_cli"));
    const unusedPath = join(folder, "unused", "keys.db");
    const env = { DATABASE_URL: databaseUrl, DATABASE_PATH: unusedPath, REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
    const user = await admin(["create-user", "--username", "pat", "--email", "pat@example.com"], env);
    expect([user.code, user.stderr]).toEqual([0, ""]);
    expect(JSON.parse(user.stdout)).toMatchObject({ id: 1, username: "pat", is_active: true });
    const duplicate = await admin(["create-user", "--username", "pat", "--email", "other@example.com"], env);
    expect(duplicate).toEqual({ code: 1, stdout: "", stderr: "error: Username 'pat' already exists.\n" });
    const key = await admin(["create-key", "--user-id", "1", "--name", "dev"], env);
    expect(JSON.parse(key.stdout)).toMatchObject({ id: 1, user_id: 1, key_name: "dev", api_key: expect.stringMatching(/^gw-/) });
    const keys = await admin(["list-keys"], env);
    expect(JSON.parse(keys.stdout).map((listed: { id: number }) => listed.id)).toEqual([1]);
    const store = await openPostgresStore(databaseUrl);
    try {
      expect((await store.apiKeys.findActiveByHash(hashApiKey(JSON.parse(key.stdout).api_key)))?.id).toBe(1);
    } finally {
      await store.close();
    }
    expect(existsSync(unusedPath)).toBe(false);
  });

  it("prints one line and exits 1 on a bad command line or configuration", async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [["rotate-key"], {}, "error: unknown command 'rotate-key' (see --help)\n"],
      [["create-user", "--username", "bob"], {}, "error: --email is required (see --help)\n"],
      [["list-keys", "--colour"], {}, "error: Unknown option '--colour' (see --help)\n"],
      [["create-key", "--user-id", "1", "--name", "dev", "--per-hour", "lots"], {}, 'error: --per-hour must be a positive whole number, got "lots" (see --help)\n'],
      [["create-key", "--user-id", "99", "--name", "dev"], {}, "error: No user with id 99.\n"],
      [["create-key", "--user-id", "user_x", "--name", "dev"], {}, 'error: --user-id must be a positive whole number, got "user_x" (see --help)\n'],
      [["create-key", "--name", "dev"], {}, "error: --user-id is required (see --help)\n"],
      [["list-keys", "--user-id", "0"], {}, 'error: --user-id must be a positive whole number, got "0" (see --help)\n'],
      [["revoke-key", "--id", "key_abc"], {}, 'error: --id must be a positive whole number, got "key_abc" (see --help)\n'],
      [["list-users"], { PORT: "eighty" }, 'error: configuration error: PORT must be a whole number, got "eighty"\n'],
    ];
    for (const [args, env, stderr] of cases) {
      expect(await admin(args, env)).toEqual({ code: 1, stdout: "", stderr });
    }
  });
});
