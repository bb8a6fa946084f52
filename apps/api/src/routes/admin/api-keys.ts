import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { MAX_ALLOWED_IPS, type ApiKeyChanges, type ApiKeyRecord, type NewApiKey } from "@llmgw/store";
import type { ApiContext } from "../../context.js";
import { databaseKeyId } from "../../services/client-auth.js";
import { integerIdParamsSchema, integerIdSchema, integerIdsIn } from "./integer-ids.js";
import { bodyErrors } from "../../schemas/error-responses.js";
import { adminDocs, adminErrors, apiKeySchema, apiKeyWithSpendingSchema, createdApiKeySchema, errorBodySchema, listOf } from "./schemas.js";

const limit = { type: "integer", minimum: 1, nullable: true } as const;

/** The fields a key is created with and PATCH may change. */
const keyFields = {
    key_name: { type: "string", minLength: 1, maxLength: 128 },
    rate_limit_per_minute: { ...limit, description: "Requests per rolling minute; omitted or null = RATE_LIMIT_PER_MINUTE" },
    rate_limit_per_hour: { ...limit, description: "Requests per rolling hour; omitted or null = RATE_LIMIT_PER_HOUR" },
    expires_at: { type: "integer", nullable: true, description: "Unix time in seconds, in the future; omitted or null = never" },
    models: {
      type: "array",
      items: { type: "string", minLength: 1, maxLength: 256 },
      minItems: 1,
      maxItems: 256,
      nullable: true,
      description: "Models the key may use (others answer 403); omitted or null = every model",
    },
    allowed_ips: {
      type: "array",
      items: { type: "string", minLength: 1, maxLength: 64 },
      maxItems: MAX_ALLOWED_IPS,
      nullable: true,
      description: "IPv4/IPv6 addresses or CIDRs (`203.0.113.0/24`, `2001:db8::/32`) the key may be used from (others answer 403 ip_not_allowed); omitted or null = anywhere",
    },
    token_budget_daily: { ...limit, description: "Prompt + completion tokens per UTC day (then 429 insufficient_quota); omitted or null = no budget" },
    token_budget_monthly: { ...limit, description: "Prompt + completion tokens per UTC month (then 429 insufficient_quota); omitted or null = no budget" },
    max_concurrent: { ...limit, description: "The key's requests running upstream at once, across all workers (the rest wait their turn); omitted or null = no cap" },
} as const;

const createApiKeyBody = {
  type: "object",
  required: ["user_id", "key_name"],
  additionalProperties: false,
  properties: { user_id: { ...integerIdSchema, description: "The owner's id, e.g. 1" }, ...keyFields },
} as const;

const updateApiKeyBody = {
  type: "object",
  additionalProperties: false,
  minProperties: 1,
  properties: { ...keyFields, is_active: { type: "boolean", description: "false switches the key off until set true again" } },
} as const;

const listQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    user_id: { ...integerIdSchema, description: "Only this user's keys, e.g. ?user_id=1" },
    include_revoked: { type: "string", enum: ["true", "false"], description: "Also list revoked keys (default false)" },
  },
} as const;

interface ListQuery {
  user_id?: number;
  include_revoked?: "true" | "false";
}

const deletedSchema = {
  type: "object",
  required: ["id", "object", "deleted"],
  properties: { id: { type: "integer" }, object: { type: "string", enum: ["api_key"] }, deleted: { type: "boolean" } },
} as const;

const asApiKey = <T extends ApiKeyRecord>(key: T) => ({ ...key, object: "api_key" as const });

/** POST /api-keys (the key shown once), GET /api-keys (never a key or hash), DELETE /api-keys/:id (revoke everywhere). */
export async function adminApiKeyRoutes(app: FastifyInstance, context: ApiContext) {
  app.post<{ Body: NewApiKey }>(
    "/api-keys",
    {
      schema: {
        ...adminDocs,
        summary: "Create an API key (the key is in the answer, and only there)",
        body: createApiKeyBody,
        response: { 201: createdApiKeySchema, 408: bodyErrors[408], ...adminErrors },
      },
    },
    async (request, reply) => {
      const created = await context.apiKeys.create(request.body);
      // The answer holds a secret: no proxy or browser may keep a copy.
      return reply.code(201).header("cache-control", "no-store").send(asApiKey(created));
    },
  );

  app.get<{ Querystring: ListQuery }>(
    "/api-keys",
    {
      preValidation: integerIdsIn("query", ["user_id"]),
      schema: {
        ...adminDocs,
        summary: "List API keys (never the key or its hash)",
        querystring: listQuery,
        response: { 200: listOf(apiKeySchema), ...adminErrors },
      },
    },
    async (request) => {
      const { user_id: userId, include_revoked: includeRevoked } = request.query;
      const keys = await context.apiKeys.list({ userId, includeRevoked: includeRevoked === "true" });
      return { object: "list", data: keys.map(asApiKey) };
    },
  );

  app.get<{ Params: { id: number } }>(
    "/api-keys/:id",
    {
      preValidation: integerIdsIn("params", ["id"]),
      schema: {
        ...adminDocs,
        summary: "One API key, with its token spending in the current UTC day and month",
        params: integerIdParamsSchema,
        response: { 200: apiKeyWithSpendingSchema, 404: errorBodySchema, ...adminErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const key = await context.apiKeys.get(id);
      if (!key) throw new GatewayError("not_found", { message: `No API key with id ${id}.` });
      const budgets = { daily: key.token_budget_daily, monthly: key.token_budget_monthly };
      return { ...asApiKey(key), spending: await context.spending.spending("key", databaseKeyId(id), budgets) };
    },
  );

  app.patch<{ Params: { id: number }; Body: ApiKeyChanges }>(
    "/api-keys/:id",
    {
      preValidation: integerIdsIn("params", ["id"]),
      schema: {
        ...adminDocs,
        summary: "Change a key's name, limits, models, expiry, allowed IPs, budgets, max_concurrent or active flag (every API instance within 5 s)",
        params: integerIdParamsSchema,
        body: updateApiKeyBody,
        response: { 200: apiKeySchema, 404: errorBodySchema, 408: bodyErrors[408], ...adminErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const updated = await context.apiKeys.update(id, request.body);
      if (!updated) throw new GatewayError("not_found", { message: `No API key with id ${id}.` });
      // This instance drops its cached lookup now; the others within their cache's 4 s.
      context.forgetKey(databaseKeyId(id));
      return asApiKey(updated);
    },
  );

  app.delete<{ Params: { id: number } }>(
    "/api-keys/:id",
    {
      preValidation: integerIdsIn("params", ["id"]),
      schema: {
        ...adminDocs,
        summary: "Revoke an API key on every API instance",
        params: integerIdParamsSchema,
        response: { 200: deletedSchema, 404: errorBodySchema, ...adminErrors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await context.apiKeys.revoke(id))) throw new GatewayError("not_found", { message: `No API key with id ${id}.` });
      // The database says revoked from now on; the announcement also empties every instance's lookup cache.
      if (!(await context.keyRevocation.announce(databaseKeyId(id)))) {
        request.log.warn({ keyId: id }, "revocation not broadcast (Redis unreachable): other instances drop the key within 5 s");
      }
      return { id, object: "api_key", deleted: true };
    },
  );
}
