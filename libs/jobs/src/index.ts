export * from "./contract.js";
export * from "./types.js";
export { toJobObject } from "./job-object.js";
export { newJobId, isJobId, isEventId, compareEventIds } from "./job-ids.js";
export { createJobStore, type JobStore, type JobStoreOptions, type NewJob, type CreateJobOutcome } from "./job-store.js";
export { createJobEventHub, type JobEventHub, type JobEventListener, type WatchOptions } from "./job-event-hub.js";
export { createCompletionQueue, completionJobOptions, type CompletionQueue } from "./completion-queue.js";
export { appendUsage, type UsageEntry } from "./usage-stream.js";
