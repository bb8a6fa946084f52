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

export const userSchema = {
  type: "object",
  required: ["id", "object", "username", "email", "created_at", "is_active"],
  properties: {
    id: { type: "integer" },
    object: { type: "string", enum: ["user"] },
    username: { type: "string" },
    email: { type: "string" },
    created_at: unixSeconds,
    is_active: { type: "boolean" },
  },
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
  "created_at",
  "last_used_at",
  "revoked_at",
] as const;

/** A key as lists show it: never the key, never its hash. */
export const apiKeySchema = { type: "object", required: apiKeyRequired, properties: apiKeyProperties } as const;

/** The answer to a creation: the only time `api_key` is shown. */
export const createdApiKeySchema = {
  type: "object",
  required: [...apiKeyRequired, "api_key"],
  properties: { ...apiKeyProperties, api_key: { type: "string", description: "The key itself, shown this once" } },
} as const;
