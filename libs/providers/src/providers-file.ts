import { readFileSync } from "node:fs";
import { ConfigError } from "@llmgw/config";

/** One extra OpenAI-compatible provider from PROVIDERS_FILE, with its key already read from the environment. */
export interface ExtraProviderConfig {
  name: string;
  baseUrl: string;
  apiKey: string;
  models: string[];
}

const VARIABLE = "PROVIDERS_FILE";
const KNOWN_FIELDS = new Set(["name", "base_url", "api_key_env", "models"]);
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Reads PROVIDERS_FILE: `[{"name","base_url","api_key_env","models":[…]}]`. Each key is read
 * from the environment variable named by `api_key_env`. Anything wrong throws a ConfigError
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
  const seen = new Set<string>();
  return parsed.map((entry, index) => {
    const provider = parseEntry(entry, `entry ${index}`, env);
    if (seen.has(provider.name)) throw new ConfigError(VARIABLE, `names provider "${provider.name}" twice`);
    seen.add(provider.name);
    return provider;
  });
}

function parseEntry(entry: unknown, where: string, env: NodeJS.ProcessEnv): ExtraProviderConfig {
  const fail = (reason: string) => new ConfigError(VARIABLE, `${where}: ${reason}`);
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw fail("must be an object");
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) throw fail(`unknown field "${unknown[0]}" (expected name, base_url, api_key_env, models)`);

  const { name, base_url: baseUrl, api_key_env: keyVariable, models = [] } = record;
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
  return { name, baseUrl: baseUrl.trim().replace(/\/+$/, ""), apiKey, models: models as string[] };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}
