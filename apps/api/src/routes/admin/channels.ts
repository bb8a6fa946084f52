import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { ChannelState } from "@llmgw/jobs";
import type { Channel } from "@llmgw/providers";
import type { ApiContext } from "../../context.js";
import { adminDocs, adminErrors, errorBodySchema, listOf } from "./schemas.js";

const count = { type: "integer" } as const;
const channelSchema = {
  type: "object",
  required: ["id", "provider", "models", "weight", "priority", "key_hint", "state", "cooling_down_until", "disabled_reason", "requests", "errors"],
  properties: {
    id: { type: "string", description: "Stable id from configuration (`deepseek-1`), never derived from the key" },
    provider: { type: "string" },
    base_url: { type: "string" },
    models: { type: "array", items: { type: "string" }, description: "Models listed by its PROVIDERS_FILE entry (built-in providers serve theirs by name)" },
    weight: count,
    priority: count,
    key_hint: { type: "string", description: "The key masked: `sk-...a1b2`" },
    state: {
      type: "string",
      enum: ["healthy", "cooling_down", "probing", "disabled"],
      description: "probing: the cooldown has ended and one try is testing the channel; the others keep away until it ends",
    },
    cooling_down_until: { type: "string", nullable: true, description: "ISO time the cooldown ends" },
    disabled_reason: { type: "string", nullable: true, description: "key_refused, no_credit or admin" },
    disabled_at: { type: "string", nullable: true },
    consecutive_failures: count,
    requests: { ...count, description: "Successful tries" },
    errors: { ...count, description: "Failed tries counted against the channel" },
    average_latency_ms: { type: "number", nullable: true },
  },
} as const;

/** GET /channels, POST /channels/:id/enable and /disable: the upstream channels and their shared health. */
export async function adminChannelRoutes(app: FastifyInstance, context: ApiContext) {
  const find = (id: string) => {
    const channel = context.providers.channels.find((candidate) => candidate.id === id);
    if (!channel) throw new GatewayError("not_found", { message: `No channel with id '${id}'.`, param: "id" });
    return channel;
  };
  const params = { type: "object", required: ["id"], properties: { id: { type: "string", maxLength: 200 } } } as const;
  const describe = async (channel: Channel) => view(channel, (await context.channelHealth.read([channel.id])).get(channel.id));

  app.get(
    "/channels",
    { schema: { ...adminDocs, summary: "Upstream channels and their state", response: { 200: listOf(channelSchema), ...adminErrors } } },
    async () => {
      const channels = context.providers.channels;
      const states = await context.channelHealth.read(channels.map((channel) => channel.id));
      return { object: "list", data: channels.map((channel) => view(channel, states.get(channel.id))) };
    },
  );
  app.post<{ Params: { id: string } }>(
    "/channels/:id/enable",
    { schema: { ...adminDocs, summary: "Enable a channel (clears its cooldown and failures)", params, response: { 200: channelSchema, 404: errorBodySchema, ...adminErrors } } },
    async (request) => {
      const channel = find(request.params.id);
      await context.channelHealth.enable(channel.id);
      return describe(channel);
    },
  );
  app.post<{ Params: { id: string } }>(
    "/channels/:id/disable",
    { schema: { ...adminDocs, summary: "Disable a channel until enabled again", params, response: { 200: channelSchema, 404: errorBodySchema, ...adminErrors } } },
    async (request) => {
      const channel = find(request.params.id);
      await context.channelHealth.disable(channel.id, "admin");
      return describe(channel);
    },
  );
}

function view(channel: Channel, state: ChannelState | undefined, now = Date.now()) {
  const disabled = state?.disabled ?? null;
  const coolingUntil = state && !disabled && state.coolUntil > now ? state.coolUntil : null;
  return {
    id: channel.id,
    provider: channel.provider,
    base_url: channel.baseUrl,
    models: [...channel.models],
    weight: channel.weight,
    priority: channel.priority,
    key_hint: channel.keyHint,
    state: disabled ? "disabled" : coolingUntil !== null ? "cooling_down" : (state?.probeUntil ?? 0) > now ? "probing" : "healthy",
    cooling_down_until: coolingUntil === null ? null : new Date(coolingUntil).toISOString(),
    disabled_reason: disabled,
    disabled_at: state?.disabledAt ? new Date(state.disabledAt).toISOString() : null,
    consecutive_failures: state?.fails ?? 0,
    requests: state?.requests ?? 0,
    errors: state?.errors ?? 0,
    average_latency_ms: state && state.requests > 0 ? Math.round(state.latencyMs / state.requests) : null,
  };
}
