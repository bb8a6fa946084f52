import type { Logger } from "@llmgw/logger";
import type { BudgetAlert, BudgetAlertOutbox } from "@llmgw/jobs";
import { postAlert } from "./alert-post.js";

export interface BudgetAlertSenderOptions {
  outbox: BudgetAlertOutbox;
  logger: Logger;
  /** ALERT_WEBHOOK_URL; without it alerts are only logged. */
  alertUrl?: string;
  /** WEBHOOK_SECRET: alerts are signed like job webhooks when set. */
  secret?: string;
  /** How often the outbox is looked at (default 5 s: one Redis call for an idle worker, an alert out within seconds). */
  intervalMs?: number;
  /** How long an alert is held by one sender, and so the wait before another try of one that failed. */
  retryMs?: number;
  /** An alert still undelivered after this long is given up (logged at error level). */
  giveUpMs?: number;
}

const describe = (alert: BudgetAlert) =>
  `${alert.scope} ${alert.scope === "key" ? alert.key_id : alert.user_id} has spent ${alert.spent_tokens} tokens, ` +
  `${alert.threshold_percent}% of its ${alert.period} budget of ${alert.budget_tokens} (period ${alert.period_start}, UTC)`;

/**
 * Delivers budget alerts: a warning line each, and a signed POST to ALERT_WEBHOOK_URL, tried again
 * every `retryMs` until the receiver answers 2xx (the `webhook-id` header is the alert's id, the
 * same on every try, so a receiver drops repeats). Any worker may send any alert.
 */
export function startBudgetAlertSender(options: BudgetAlertSenderOptions) {
  const { outbox, logger } = options;
  const retryMs = options.retryMs ?? 30_000;
  const giveUpMs = options.giveUpMs ?? 86_400_000;
  let running = false;

  async function deliver(alert: BudgetAlert): Promise<void> {
    if (!options.alertUrl) {
      logger.warn({ alert: alert.id }, `budget alert: ${describe(alert)}`);
      return outbox.remove(alert.id);
    }
    try {
      const status = await postAlert(options.alertUrl, options.secret, alert.id, JSON.stringify(alert));
      if (status < 200 || status >= 300) throw new Error(`the receiver answered ${status}`);
      logger.warn({ alert: alert.id }, `budget alert sent: ${describe(alert)}`);
      await outbox.remove(alert.id);
    } catch (error) {
      if (Date.now() - alert.created_at * 1000 > giveUpMs) {
        logger.error({ alert: alert.id, err: { message: (error as Error).message } }, `budget alert given up: ${describe(alert)}`);
        return outbox.remove(alert.id);
      }
      logger.warn({ alert: alert.id, err: { message: (error as Error).message } }, `could not POST the budget alert; trying again in ${retryMs / 1000} s`);
    }
  }

  const timer = setInterval(() => {
    if (running) return; // Redis or the receiver is slow: one round at a time
    running = true;
    outbox
      .take(retryMs)
      .then((alerts) => Promise.all(alerts.map(deliver)))
      .catch((error: Error) => logger.warn({ err: { message: error.message } }, "budget alert outbox: could not read; trying again"))
      .finally(() => (running = false));
  }, options.intervalMs ?? 5000);

  return { stop: () => clearInterval(timer) };
}
