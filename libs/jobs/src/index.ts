export * from "./contract.js";
export * from "./types.js";
export { toJobObject } from "./job-object.js";
export { newJobId, randomToken, isJobId, isEventId, compareEventIds } from "./job-ids.js";
export { createJobStore, JOB_LOG_PAGE_SIZE, MAX_METADATA_JSON_BYTES, type JobStore, type JobStoreOptions, type NewJob, type CreateJobOutcome } from "./job-store.js";
export { createJobEventHub, type JobEventHub, type JobFollower, type FollowOptions } from "./job-event-hub.js";
export { createCompletionQueue, completionJobOptions, queueJobId, readQueueDepths, type CompletionQueue, type QueueDepths } from "./completion-queue.js";
export type { JobScheduling } from "./job-scheduling.js";
export type { UsageEntry } from "./usage-stream.js";
export { createWebhookQueue, enqueueWebhook, webhookJobOptions, type WebhookQueue } from "./webhook-queue.js";
export { createWebhookOutbox, type WebhookOutbox } from "./webhook-outbox.js";
export { signWebhook, webhookHeaders, verifyWebhookSignature, type WebhookHeaders } from "./webhook-signature.js";
export { checkWebhookUrl, isPublicAddress, urlHost, MAX_WEBHOOK_URL_LENGTH, type WebhookUrlCheck } from "./webhook-url.js";
export { createJobProducer, cancelledUsage, CANCELLED_USAGE_STATUS, type JobProducer, type NewCompletionJob, type FollowedJob } from "./job-producer.js";
export { createJobRunner, type JobRunner, type JobTry, type TryEnd } from "./job-runner.js";
export { createConcurrencyGate, concurrencyLeaseMs, type ConcurrencyGate, type ConcurrencyGateOptions, type SlotAdmission } from "./concurrency-gate.js";
export { usageEntry, jobUsageSubject, type UsageKind, type UsageSubject, type UsageOutcome } from "./usage-entry.js";
export { eventDataText } from "./logged-event.js";
export {
  budgetPeriod,
  createSpendingReader,
  hasBudget,
  noBudgets,
  type BudgetPeriod,
  type BudgetScope,
  type Budgets,
  type ExhaustedBudget,
  type OwnerBudgets,
  type PeriodSpending,
  type SpendingReader,
} from "./spending.js";
export { createBudgetAlertOutbox, type BudgetAlert, type BudgetAlertOutbox } from "./budget-alerts.js";
export {
  createChannelHealth,
  isChannelAvailable,
  needsProbe,
  type ChannelHealth,
  type ChannelState,
  type ChannelDisableReason,
  type ChannelFailureSettings,
} from "./channel-health.js";
