/**
 * Bootstraps users and keys straight in the database (DATABASE_URL, else DATABASE_PATH), without the
 * HTTP API (no ADMIN_TOKEN needed):
 *   node apps/api/dist/admin-cli.js create-user --username alice --email alice@example.com
 * Prints JSON on success; on failure one line on stderr and exit code 1.
 */
import { parseArgs } from "node:util";
import { loadConfig, loadDotEnv, maskUrlPassword, type Config } from "@llmgw/config";
import { jobKeys } from "@llmgw/jobs";
import { createRedisConnection, waitForRedis } from "@llmgw/redis";
import { openStore, type Store } from "@llmgw/store";

const usage = `usage: admin-cli <command> [options]
  create-user --username NAME --email EMAIL [--daily-tokens N] [--monthly-tokens N]
  create-key  --user-id USER_ID --name NAME [--per-minute N] [--per-hour N] [--models a,b] [--expires-at UNIX_SECONDS|ISO_8601]
              [--daily-tokens N] [--monthly-tokens N] [--max-concurrent N]
  list-users
  list-keys   [--user-id USER_ID] [--all]   (--all includes revoked keys)
  revoke-key  --id KEY_ID
Ids are integers: --user-id 1, --id 1.`;

/** A mistake in the command line: printed with a pointer to --help. */
class UsageError extends Error {}

type Values = Record<string, string | boolean | undefined>;
type OptionSpec = Record<string, { type: "string" | "boolean" }>;

const text = { type: "string" } as const;
const flag = { type: "boolean" } as const;

/** How long the CLI waits for Redis before revoking without telling the running instances. */
const REDIS_CONNECT_TIMEOUT_MS = 1500;

const commands: Record<string, { options: OptionSpec; run: (store: Store, values: Values, config: Config) => unknown }> = {
  "create-user": {
    options: { username: text, email: text, "daily-tokens": text, "monthly-tokens": text },
    run: (store, values) =>
      store.users.create({
        username: required(values, "username"),
        email: required(values, "email"),
        token_budget_daily: optionalCount(values, "daily-tokens"),
        token_budget_monthly: optionalCount(values, "monthly-tokens"),
      }),
  },
  "create-key": {
    options: {
      "user-id": text,
      name: text,
      "per-minute": text,
      "per-hour": text,
      models: text,
      "expires-at": text,
      "daily-tokens": text,
      "monthly-tokens": text,
      "max-concurrent": text,
    },
    run: (store, values) =>
      store.apiKeys.create({
        user_id: wholeNumber(values, "user-id"),
        key_name: required(values, "name"),
        rate_limit_per_minute: optionalCount(values, "per-minute"),
        rate_limit_per_hour: optionalCount(values, "per-hour"),
        models: typeof values.models === "string" ? values.models.split(",").map((model) => model.trim()).filter(Boolean) : undefined,
        expires_at: typeof values["expires-at"] === "string" ? unixSeconds(values["expires-at"]) : undefined,
        token_budget_daily: optionalCount(values, "daily-tokens"),
        token_budget_monthly: optionalCount(values, "monthly-tokens"),
        max_concurrent: optionalCount(values, "max-concurrent"),
      }),
  },
  "list-users": { options: {}, run: (store) => store.users.list() },
  "list-keys": {
    options: { "user-id": text, all: flag },
    run: (store, values) =>
      store.apiKeys.list({
        userId: values["user-id"] === undefined ? undefined : wholeNumber(values, "user-id"),
        includeRevoked: values.all === true,
      }),
  },
  "revoke-key": {
    options: { id: text },
    run: async (store, values, config) => {
      const id = wholeNumber(values, "id");
      if (!(await store.apiKeys.revoke(id))) throw new Error(`no active API key with id ${id}`);
      const broadcast = await broadcastRevocation(config, String(id));
      if (!broadcast) {
        process.stderr.write(
          `warning: Redis at ${maskUrlPassword(config.redisUrl)} is not reachable; running API instances drop the key when their auth cache entry expires (within 5 s), but its open streams, sockets and jobs go on\n`,
        );
      }
      return { id, revoked: true, broadcast };
    },
  },
};

/**
 * Tells every running API instance, as the admin API does: they drop the key at once, close its
 * streams and sockets and cancel its jobs. False when Redis is not reachable in a short while.
 */
async function broadcastRevocation(config: Config, keyId: string): Promise<boolean> {
  const redis = createRedisConnection(config.redisUrl, "command", "admin-cli");
  try {
    await waitForRedis(redis, REDIS_CONNECT_TIMEOUT_MS);
    await redis.publish(jobKeys(config.queuePrefix).keyRevokedChannel, keyId);
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function required(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function optionalCount(values: Values, name: string): number | undefined {
  return values[name] === undefined ? undefined : wholeNumber(values, name);
}

/** A positive whole number: a limit, or a user or key id (ids are integers: 1, 2, 3…). */
function wholeNumber(values: Values, name: string): number {
  const value = values[name];
  if (typeof value !== "string") throw new UsageError(`--${name} is required`);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
    throw new UsageError(`--${name} must be a positive whole number, got "${value}"`);
  }
  return Number(value);
}

/** Accepts unix seconds or an ISO 8601 date, as the store wants seconds. */
function unixSeconds(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`--expires-at must be unix seconds or an ISO 8601 date, got "${value}"`);
  return Math.floor(ms / 1000);
}

async function run(argv: string[]): Promise<unknown> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") return usage;
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command '${name}'`);
  let values: Values;
  try {
    values = parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]);
  }
  loadDotEnv();
  const config = loadConfig();
  const store = await openStore(config);
  try {
    return await command.run(store, values, config);
  } finally {
    await store.close();
  }
}

try {
  const result = await run(process.argv.slice(2));
  process.stdout.write(typeof result === "string" ? `${result}\n` : `${JSON.stringify(result, null, 2)}\n`);
} catch (error) {
  const hint = error instanceof UsageError ? " (see --help)" : "";
  process.stderr.write(`error: ${(error as Error).message}${hint}\n`);
  process.exitCode = 1;
}
