import { adminFailuresError, errorBodySchema } from "../../schemas/error-responses.js";

/**
 * JSON schemas shared by the admin routes. Request schemas are strict (`additionalProperties:
 * false`: an unknown field is a 400 naming it); response schemas list every field a client may
 * see, and Fastify serializes with them, so a field not listed here (a key hash) can never leave.
 * Both feed the OpenAPI document at /docs.
 */

/** What every admin route declares to the OpenAPI document. */
export const adminDocs = { tags: ["admin"], security: [{ bearerAuth: [] }, { consoleSession: [] }] } as const;

export { errorBodySchema };

/** The error answers every admin route can give (auth, validation, throttled logins, outage). */
export const adminErrors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  429: adminFailuresError,
  503: errorBodySchema,
} as const;

/** `{"object":"list","data":[…]}`, OpenAI's list shape. */
export const listOf = (item: Record<string, unknown>) =>
  ({
    type: "object",
    required: ["object", "data"],
    properties: { object: { type: "string", enum: ["list"] }, data: { type: "array", items: item } },
  }) as const;

const unixSeconds = { type: "integer", description: "Unix time in seconds" } as const;
const nullableUnixSeconds = { ...unixSeconds, nullable: true } as const;

const tokenBudget = { type: "integer", nullable: true } as const;

/** Token budgets, as keys and users show them. */
const budgetProperties = {
  token_budget_daily: { ...tokenBudget, description: "Prompt + completion tokens per UTC day; null = no budget" },
  token_budget_monthly: { ...tokenBudget, description: "Prompt + completion tokens per UTC month; null = no budget" },
} as const;

const periodSpendingSchema = {
  type: "object",
  required: ["period", "period_start", "resets_at", "tokens", "budget"],
  properties: {
    period: { type: "string", enum: ["daily", "monthly"] },
    period_start: { type: "string", description: "2026-11-29 (daily) or 2026-11 (monthly), UTC" },
    resets_at: { ...unixSeconds, description: "When the next period starts (unix seconds)" },
    tokens: { type: "integer", description: "Prompt + completion tokens spent in the period (cache hits and cancels spend nothing)" },
    budget: { ...tokenBudget, description: "The budget of the period; null = none" },
  },
} as const;

/** Spending in the current day and month (GET of one key or user). */
export const spendingSchema = {
  type: "object",
  required: ["daily", "monthly"],
  properties: { daily: periodSpendingSchema, monthly: periodSpendingSchema },
} as const;

const userProperties = {
  id: { type: "integer" },
  object: { type: "string", enum: ["user"] },
  username: { type: "string" },
  email: { type: "string" },
  created_at: unixSeconds,
  is_active: { type: "boolean" },
  ...budgetProperties,
} as const;

const userRequired = ["id", "object", "username", "email", "created_at", "is_active", "token_budget_daily", "token_budget_monthly"] as const;

export const userSchema = { type: "object", required: userRequired, properties: userProperties } as const;

/** One user with their spending (GET /users/:id). */
export const userWithSpendingSchema = {
  type: "object",
  required: [...userRequired, "spending"],
  properties: { ...userProperties, spending: spendingSchema },
} as const;

const apiKeyProperties = {
  id: { type: "integer" },
  object: { type: "string", enum: ["api_key"] },
  user_id: { type: "integer" },
  key_name: { type: "string" },
  key_prefix: { type: "string", description: "The key's first characters: enough to recognise it, useless to use it" },
  rate_limit_per_minute: { type: "integer", nullable: true, description: "null = RATE_LIMIT_PER_MINUTE" },
  rate_limit_per_hour: { type: "integer", nullable: true, description: "null = RATE_LIMIT_PER_HOUR" },
  models: { type: "array", items: { type: "string" }, nullable: true, description: "null = every model" },
  expires_at: nullableUnixSeconds,
  allowed_ips: { type: "array", items: { type: "string" }, nullable: true, description: "Client addresses and CIDRs the key may be used from; null = anywhere" },
  is_active: { type: "boolean", description: "false while an admin has switched the key off (PATCH); a revocation is final, this is not" },
  ...budgetProperties,
  max_concurrent: { type: "integer", nullable: true, description: "The key's requests running upstream at once, across all workers (the rest wait their turn); null = no cap" },
  created_at: unixSeconds,
  last_used_at: { ...nullableUnixSeconds, description: "Updated at most every few seconds" },
  revoked_at: nullableUnixSeconds,
} as const;

const apiKeyRequired = [
  "id",
  "object",
  "user_id",
  "key_name",
  "key_prefix",
  "rate_limit_per_minute",
  "rate_limit_per_hour",
  "models",
  "expires_at",
  "allowed_ips",
  "is_active",
  "token_budget_daily",
  "token_budget_monthly",
  "max_concurrent",
  "created_at",
  "last_used_at",
  "revoked_at",
] as const;

/** A key as lists show it: never the key, never its hash. */
export const apiKeySchema = { type: "object", required: apiKeyRequired, properties: apiKeyProperties } as const;

/** One key with its spending (GET /api-keys/:id). */
export const apiKeyWithSpendingSchema = {
  type: "object",
  required: [...apiKeyRequired, "spending"],
  properties: { ...apiKeyProperties, spending: spendingSchema },
} as const;

/** The answer to a creation: the only time `api_key` is shown. */
export const createdApiKeySchema = {
  type: "object",
  required: [...apiKeyRequired, "api_key"],
  properties: { ...apiKeyProperties, api_key: { type: "string", description: "The key itself, shown this once" } },
} as const;
