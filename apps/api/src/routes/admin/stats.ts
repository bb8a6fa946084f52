import type { FastifyInstance } from "fastify";
import { readQueueDepths } from "@llmgw/jobs";
import type { ApiContext } from "../../context.js";
import { adminDocs, adminErrors } from "./schemas.js";

const count = { type: "integer" } as const;
const tokenCounts = { requests: count, prompt_tokens: count, completion_tokens: count } as const;

const statsSchema = {
  type: "object",
  required: ["users", "api_keys", "requests", "requests_by_status", "tokens", "cache_hits", "per_model", "per_key", "queue"],
  properties: {
    users: count,
    api_keys: { ...count, description: "Keys usable now: not revoked, not expired" },
    requests: { ...count, description: "Finished requests in the usage log (a coalesced group is one job, one request)" },
    requests_by_status: { type: "object", additionalProperties: count, description: "HTTP status -> requests" },
    tokens: { type: "object", required: ["prompt", "completion"], properties: { prompt: count, completion: count } },
    cache_hits: count,
    per_model: {
      type: "array",
      items: { type: "object", required: ["model", "requests"], properties: { model: { type: "string" }, ...tokenCounts } },
    },
    per_key: {
      type: "array",
      description: "The busiest keys first",
      items: {
        type: "object",
        required: ["key_id", "key_name", "user_id", "requests"],
        properties: {
          key_id: {
            anyOf: [{ type: "integer" }, { type: "string" }],
            description: "A database key's integer id; a static API_KEYS key's text id (static- and 16 hex digits of its digest)",
          },
          key_name: { type: "string", nullable: true },
          user_id: { type: "integer", nullable: true, description: "null for static keys" },
          ...tokenCounts,
        },
      },
    },
    queue: {
      type: "object",
      description: "Jobs in the completions queue by state (BullMQ keeps only the latest finished ones)",
      required: ["waiting", "active", "delayed", "failed", "completed"],
      properties: { waiting: count, active: count, delayed: count, failed: count, completed: count },
    },
  },
} as const;

/** GET /stats: the usage log's aggregates (this instance's pending entries included) and the queue's depths. */
export async function adminStatsRoutes(app: FastifyInstance, context: ApiContext) {
  app.get(
    "/stats",
    { schema: { ...adminDocs, summary: "Usage and queue statistics", response: { 200: statsSchema, ...adminErrors } } },
    async () => {
      const queue = await readQueueDepths(context.queue);
      // This instance's own entries still gathering (cache hits) are written first, so they count.
      await context.flushUsage();
      return { ...(await context.usage.stats()), queue };
    },
  );
}
