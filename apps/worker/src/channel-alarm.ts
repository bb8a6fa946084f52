import { randomUUID } from "node:crypto";
import type { Logger } from "@llmgw/logger";
import { webhookHeaders, type ChannelDisableReason } from "@llmgw/jobs";
import type { ChannelRoute } from "@llmgw/providers";

export interface ChannelAlarmOptions {
  logger: Logger;
  /** ALERT_WEBHOOK_URL: told of each disabling, when set. */
  alertUrl?: string;
  /** WEBHOOK_SECRET: the alert is signed like job webhooks when set. */
  secret?: string;
  onDisabled?(channelId: string, reason: ChannelDisableReason): void;
}

const ALERT_TIMEOUT_MS = 5000;

/**
 * Says once (the worker whose call disabled the channel) that a channel was disabled: one error
 * line naming the channel and why (never the key, never the upstream's text, which may quote
 * it), a metric, and a signed POST to ALERT_WEBHOOK_URL.
 */
export function createChannelAlarm(options: ChannelAlarmOptions) {
  return (route: ChannelRoute, reason: ChannelDisableReason) => {
    const { id, provider } = route.channel;
    options.logger.error(
      { channel: id, provider, reason },
      `channel "${id}" (${provider}) is disabled: ${reason === "no_credit" ? "its account is out of credit" : "its key was refused"}; its traffic goes to the other channels until an admin enables it again (POST /api/v1/admin/channels/${id}/enable)`,
    );
    options.onDisabled?.(id, reason);
    if (!options.alertUrl) return;
    const body = JSON.stringify({ type: "channel.disabled", channel: id, provider, reason, at: new Date().toISOString() });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.secret) Object.assign(headers, webhookHeaders(options.secret, `alert_${randomUUID()}`, body));
    fetch(options.alertUrl, { method: "POST", headers, body, signal: AbortSignal.timeout(ALERT_TIMEOUT_MS) })
      .then((response) => response.body?.cancel())
      .catch((error: Error) => options.logger.warn({ err: { message: error.message }, channel: id }, "could not POST the channel alert"));
  };
}
