import { readFileSync } from "node:fs";
import { ConfigError } from "@llmgw/config";

/** One channel from PROVIDERS_FILE (an OpenAI-compatible upstream), with its key already read from the environment. */
export interface ExtraProviderConfig {
  name: string;
  baseUrl: string;
  apiKey: string;
  /** Client model names listed as served (GET /v1/models), besides `modelMap`'s keys. */
  models: string[];
  /** Share of traffic among channels of the same priority (default 1). */
  weight: number;
  /** Higher is tried first; lower ones only while every higher one is cooling down or disabled (default 0). */
  priority: number;
  /** Client model name -> upstream model name. */
  modelMap: Record<string, string>;
}

const VARIABLE = "PROVIDERS_FILE";
const KNOWN_FIELDS = new Set(["name", "base_url", "api_key_env", "models", "weight", "priority", "model_map"]);
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_WEIGHT = 10_000;

/**
 * Reads PROVIDERS_FILE: `[{"name","base_url","api_key_env","models":[…],"weight"?,"priority"?,"model_map"?}]`.
 * Several entries may share a name (several keys of one provider) or serve one model. Each key is
 * read from the environment variable named by `api_key_env`. Anything wrong throws a ConfigError
 * naming PROVIDERS_FILE, the entry and the field (never a key's value).
 */
export function readProvidersFile(path: string, env: NodeJS.ProcessEnv): ExtraProviderConfig[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(VARIABLE, `cannot be read (${path}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(VARIABLE, `is not valid JSON (${path}): ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(VARIABLE, `must hold a JSON array of providers (${path})`);
  return parsed.map((entry, index) => parseEntry(entry, `entry ${index}`, env));
}

function parseEntry(entry: unknown, where: string, env: NodeJS.ProcessEnv): ExtraProviderConfig {
  const fail = (reason: string) => new ConfigError(VARIABLE, `${where}: ${reason}`);
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw fail("must be an object");
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) throw fail(`unknown field "${unknown[0]}" (expected ${[...KNOWN_FIELDS].join(", ")})`);

  const { name, base_url: baseUrl, api_key_env: keyVariable, models = [], weight = 1, priority = 0, model_map: modelMap = {} } = record;
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw fail(`"name" must be a word of letters, digits, ".", "_" or "-" (it prefixes models as NAME/MODEL)`);
  }
  const named = (reason: string) => fail(`(${name}) ${reason}`);
  if (typeof baseUrl !== "string" || !isHttpUrl(baseUrl)) throw named(`"base_url" must be an http:// or https:// URL`);
  if (typeof keyVariable !== "string" || keyVariable.trim() === "") {
    throw named(`"api_key_env" must name the environment variable that holds the key`);
  }
  const apiKey = env[keyVariable]?.trim();
  if (!apiKey) throw named(`the variable ${keyVariable} named by "api_key_env" is not set`);
  if (!Array.isArray(models) || models.some((model) => typeof model !== "string" || model.trim() === "")) {
    throw named(`"models" must be an array of model names`);
  }
  if (!Number.isInteger(weight) || (weight as number) < 1 || (weight as number) > MAX_WEIGHT) {
    throw named(`"weight" must be a whole number from 1 to ${MAX_WEIGHT}`);
  }
  if (!Number.isInteger(priority) || Math.abs(priority as number) > 1000) throw named(`"priority" must be a whole number from -1000 to 1000`);
  if (typeof modelMap !== "object" || modelMap === null || Array.isArray(modelMap)) {
    throw named(`"model_map" must be an object {"client-name": "upstream-name"}`);
  }
  for (const [from, to] of Object.entries(modelMap)) {
    if (from.trim() === "" || typeof to !== "string" || to.trim() === "") throw named(`"model_map" must map model names to model names`);
  }
  return {
    name,
    baseUrl: baseUrl.trim().replace(/\/+$/, ""),
    apiKey,
    models: models as string[],
    weight: weight as number,
    priority: priority as number,
    modelMap: { ...(modelMap as Record<string, string>) },
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
