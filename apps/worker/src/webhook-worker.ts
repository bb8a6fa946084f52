import { UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "@llmgw/logger";
import { WEBHOOKS_QUEUE, type WebhookJobData } from "@llmgw/jobs";
import { deliverJobWebhook, type WebhookDeliveryDeps } from "./webhook-delivery.js";
import { WebhookRefusedError } from "./webhook-target.js";

/**
 * The BullMQ worker of the webhooks queue: one delivery attempt per try, retried with
 * exponential backoff (webhookJobOptions) on network errors, timeouts, 5xx, 408 and 429.
 * A refused target or another 4xx ends the delivery at once.
 */
export function createWebhookWorker(
  deps: WebhookDeliveryDeps & { logger: Logger },
  options: { connection: Redis; prefix: string; concurrency: number },
) {
  const worker = new Worker<WebhookJobData, void, "webhook">(
    WEBHOOKS_QUEUE,
    async (job) => {
      const { jobId } = job.data;
      const log = deps.logger.child({ jobId, attempt: job.attemptsMade + 1 });
      try {
        const outcome = await deliverJobWebhook(deps, jobId);
        if (outcome.delivered) log.info({ status: outcome.status }, "webhook delivered");
        else log.info({ reason: outcome.reason }, "webhook skipped");
      } catch (error) {
        const message = (error as Error).message;
        if (error instanceof WebhookRefusedError) {
          log.warn({ reason: message }, "webhook refused; not retried");
          throw new UnrecoverableError(message);
        }
        log.warn({ reason: message }, "webhook attempt failed; retrying with backoff");
        throw error;
      }
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency },
  );
  worker.on("error", (error) => deps.logger.error({ err: { message: error.message } }, "webhook worker connection error"));
  return worker;
}
