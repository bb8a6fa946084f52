import { existsSync } from "node:fs";
import { SafeReason } from "./parsers.js";
import { variables, type VariableSpec, type Variables } from "./variables.js";

type ValueOf<S> = S extends VariableSpec<infer T> & { default: infer D } ? (D extends string ? T : T | undefined) : never;

/** The validated configuration: a value for each entry of the table (`undefined` where unset and without default). */
export type Config = Readonly<{ [K in keyof Variables]: ValueOf<Variables[K]> } & { cacheRedisUrl: string }>;

/** Thrown for a bad variable; its message is the one line start-up prints. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`configuration error: ${variable} ${reason}`);
    this.name = "ConfigError";
  }
}

/** Reads every variable of the table from `env`, applying defaults; throws ConfigError on the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(variables) as [string, VariableSpec<unknown>][]) {
    const raw = env[spec.name] !== undefined && env[spec.name] !== "" ? env[spec.name] : spec.default;
    if (raw === undefined) {
      values[key] = undefined;
      continue;
    }
    try {
      values[key] = spec.parse(raw);
    } catch (error) {
      // A secret's value never reaches the message: only reasons that cannot quote it are shown.
      const reason = spec.secret && !(error instanceof SafeReason) ? "is not valid" : (error as Error).message;
      throw new ConfigError(spec.name, reason);
    }
  }
  if (values.cacheRedisUrl === undefined) values.cacheRedisUrl = values.redisUrl;
  checkTogether(values as Config);
  return Object.freeze(values) as Config;
}

/** Rules between variables, each reported like a bad value: one line naming the variable. */
function checkTogether(config: Config): void {
  // Node refuses a headers timeout longer than the request timeout it is part of.
  if (config.requestTimeoutMs > 0 && config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new ConfigError(
      "HEADERS_TIMEOUT_MS",
      `must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}), got ${config.headersTimeoutMs}`,
    );
  }
  // A synchronous caller hears nothing until its answer comes: the idle cut must wait longer.
  const longestSilence = Math.max(config.syncTimeoutMs, config.idleTimeoutMs);
  if (config.connectionTimeoutMs !== 0 && config.connectionTimeoutMs <= longestSilence) {
    throw new ConfigError(
      "CONNECTION_TIMEOUT_MS",
      `must be 0 or longer than SYNC_TIMEOUT_MS (${config.syncTimeoutMs}) and IDLE_TIMEOUT_MS (${config.idleTimeoutMs}), or waiting callers would be cut off, got ${config.connectionTimeoutMs}`,
    );
  }
}

/** Loads `.env` from the working directory into process.env when the file exists (real env wins). */
export function loadDotEnv(path = ".env"): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** The values of every variable marked secret (keys, tokens) and the Redis and database URLs' passwords, for the logger to mask. */
export function secretValues(config: Config): string[] {
  const declared = (Object.entries(variables) as [keyof Config, VariableSpec<unknown>][])
    .filter(([, spec]) => spec.secret)
    .flatMap(([key]) => config[key] ?? [])
    .filter((value): value is string => typeof value === "string");
  const urls = [config.redisUrl, config.cacheRedisUrl, config.databaseUrl].filter((url): url is string => url !== undefined);
  return [...declared, ...urlPasswords(urls)];
}

/** A URL's password as written (percent-encoded) and as sent; a log line may hold either. */
function urlPasswords(urls: string[]): string[] {
  const found = new Set<string>();
  for (const url of urls) {
    const { password } = new URL(url);
    if (password === "") continue;
    found.add(password);
    try {
      found.add(decodeURIComponent(password));
    } catch {
      // Not valid percent-encoding: the raw form is what would be logged.
    }
  }
  return [...found];
}

/** A URL as a log line may show it: its password replaced by `***`. */
export function maskUrlPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
