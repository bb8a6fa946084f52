import { existsSync } from "node:fs";
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
      // A secret's value never reaches the message; the parsers only quote it for non-secrets.
      const reason = spec.secret ? "is not valid" : (error as Error).message;
      throw new ConfigError(spec.name, reason);
    }
  }
  if (values.cacheRedisUrl === undefined) values.cacheRedisUrl = values.redisUrl;
  return Object.freeze(values) as Config;
}

/** Loads `.env` from the working directory into process.env when the file exists (real env wins). */
export function loadDotEnv(path = ".env"): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** The values of every variable marked secret (keys, tokens), for the logger to mask. */
export function secretValues(config: Config): string[] {
  return (Object.entries(variables) as [keyof Config, VariableSpec<unknown>][])
    .filter(([, spec]) => spec.secret)
    .flatMap(([key]) => config[key] ?? [])
    .filter((value): value is string => typeof value === "string");
}
