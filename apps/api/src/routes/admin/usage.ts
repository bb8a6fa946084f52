import type { FastifyInstance } from "fastify";
import type { UsageBucket, UsageFilter, UsageGroup } from "@llmgw/store";
import type { ApiContext } from "../../context.js";
import { adminDocs, adminErrors, listOf } from "./schemas.js";

const count = { type: "integer" } as const;
const unixSeconds = { type: "string", pattern: "^[0-9]{1,12}$" } as const;

/** The filter every usage route takes, as query text (the app validates without coercion). */
const filterProperties = {
  key_id: { type: "string", minLength: 1, maxLength: 64, description: "A key's id: `1`, or `static-…` for an API_KEYS key" },
  user_id: { type: "string", pattern: "^[0-9]{1,16}$" },
  model: { type: "string", minLength: 1, maxLength: 256 },
  channel: { type: "string", minLength: 1, maxLength: 200, description: "An upstream channel's id (`deepseek-1`, GET /api/v1/admin/channels)" },
  from: { ...unixSeconds, description: "Unix seconds, inclusive" },
  to: { ...unixSeconds, description: "Unix seconds, exclusive" },
} as const;

interface FilterQuery {
  key_id?: string;
  user_id?: string;
  model?: string;
  channel?: string;
  from?: string;
  to?: string;
}

const usageRowSchema = {
  type: "object",
  required: ["id", "created_at", "key_id", "key_name", "user_id", "model", "provider", "channel", "prompt_tokens", "completion_tokens", "latency_ms", "status", "cache_hit", "job_id", "request_id", "kind"],
  properties: {
    id: count,
    created_at: { ...count, description: "Unix time in seconds" },
    key_id: { type: "string" },
    key_name: { type: "string", nullable: true },
    user_id: { type: "string", nullable: true },
    model: { type: "string" },
    provider: { type: "string" },
    channel: { type: "string", nullable: true, description: "The upstream channel that served it; null for cache hits and cancels" },
    prompt_tokens: count,
    completion_tokens: count,
    latency_ms: count,
    status: count,
    cache_hit: { type: "boolean" },
    job_id: { type: "string", nullable: true },
    request_id: { type: "string" },
    kind: { type: "string", enum: ["sync", "stream", "job", "ws", "cache"] },
  },
} as const;

const seriesPointSchema = {
  type: "object",
  required: ["bucket", "group", "requests", "errors", "cache_hits", "prompt_tokens", "completion_tokens"],
  properties: {
    bucket: { ...count, description: "Unix seconds at the bucket's start" },
    group: { type: "string", description: "The model, the key id, the channel id (`(none)` for cache hits and cancels), or `all`" },
    requests: count,
    errors: { ...count, description: "Answers with status 400 or more" },
    cache_hits: count,
    prompt_tokens: count,
    completion_tokens: count,
  },
} as const;

const toFilter = (query: FilterQuery): UsageFilter => ({
  keyId: query.key_id,
  userId: query.user_id,
  model: query.model,
  channel: query.channel,
  from: query.from === undefined ? undefined : Number(query.from),
  to: query.to === undefined ? undefined : Number(query.to),
});

/** GET /usage (the usage log's rows, filtered, newest first) and GET /usage/series (per hour or day, by model, key or channel). */
export async function adminUsageRoutes(app: FastifyInstance, context: ApiContext) {
  app.get<{ Querystring: FilterQuery & { limit?: string } }>(
    "/usage",
    {
      schema: {
        ...adminDocs,
        summary: "Usage log rows, newest first, filtered by key, user, model and time",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            ...filterProperties,
            limit: { type: "string", pattern: "^[0-9]{1,5}$", description: "Rows (1-10000, default 100); narrow `from`/`to` for older ones" },
          },
        },
        response: { 200: listOf(usageRowSchema), ...adminErrors },
      },
    },
    async (request) => {
      await context.flushUsage();
      const limit = Math.min(10_000, Math.max(1, Number(request.query.limit ?? 100)));
      return { object: "list", data: await context.usage.list(toFilter(request.query), { limit }) };
    },
  );

  app.get<{ Querystring: FilterQuery & { bucket?: UsageBucket; group_by?: UsageGroup; utc_offset_minutes?: string } }>(
    "/usage/series",
    {
      schema: {
        ...adminDocs,
        summary: "Requests, errors, cache hits and tokens per hour or day, in total, by model, by key or by channel",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            ...filterProperties,
            bucket: { type: "string", enum: ["hour", "day"], description: "Default hour" },
            group_by: { type: "string", enum: ["none", "model", "key", "channel"], description: "Default none (one group, `all`)" },
            utc_offset_minutes: { type: "string", pattern: "^-?[0-9]{1,4}$", description: "Minutes east of UTC: days start at that zone's midnight" },
          },
        },
        response: { 200: listOf(seriesPointSchema), ...adminErrors },
      },
    },
    async (request) => {
      await context.flushUsage();
      const { bucket = "hour", group_by: groupBy = "none", utc_offset_minutes: offset } = request.query;
      const data = await context.usage.series(toFilter(request.query), {
        bucket,
        groupBy,
        utcOffsetMinutes: offset === undefined ? 0 : Number(offset),
      });
      return { object: "list", data };
    },
  );
}
