import { randomUUID } from "node:crypto";
import type { Logger } from "@llmgw/logger";
import type { ChannelDisableReason } from "@llmgw/jobs";
import type { ChannelRoute } from "@llmgw/providers";
import { postAlert } from "./alert-post.js";

export interface ChannelAlarmOptions {
  logger: Logger;
  /** ALERT_WEBHOOK_URL: told of each disabling, when set. */
  alertUrl?: string;
  /** WEBHOOK_SECRET: the alert is signed like job webhooks when set. */
  secret?: string;
  onDisabled?(channelId: string, reason: ChannelDisableReason): void;
}

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
    postAlert(options.alertUrl, options.secret, `alert_${randomUUID()}`, body).catch((error: Error) =>
      options.logger.warn({ err: { message: error.message }, channel: id }, "could not POST the channel alert"),
    );
  };
}
