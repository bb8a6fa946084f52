import { DelayedError, Job, type MinimalQueue } from "bullmq";
import type { Redis } from "ioredis";
import type { JobKeys } from "./contract.js";
import { jobScripts } from "./scripts.js";
import type { CompletionJobData } from "./types.js";

/** A slot's lease beyond JOB_TIMEOUT_MS: the writes a try makes after its deadline, a slow Redis. */
const LEASE_MARGIN_MS = 60_000;

/**
 * How long a try holds one of its key's slots at most (the longest try plus a margin). It is also
 * the safety-net delay of a parked job, so a job parked behind a dead worker's lease wakes after it ran out.
 */
export function concurrencyLeaseMs(jobTimeoutMs: number): number {
  return jobTimeoutMs + LEASE_MARGIN_MS;
}

export interface ConcurrencyGateOptions {
  /** A commands connection (the scripts run there, not on BullMQ's blocking one). */
  redis: Redis;
  keys: JobKeys;
  /** The completions queue as BullMQ sees it (a Queue or a Worker): its keys, and promotes. */
  queue: MinimalQueue;
  /** concurrencyLeaseMs(JOB_TIMEOUT_MS). */
  leaseMs: number;
}

/** A try's admission: may it start, and how many of the job's BullMQ starts were parks (not attempts). */
export interface SlotAdmission {
  acquired: boolean;
  parks: number;
}

/**
 * A key's `max_concurrent`, across every worker: a try takes a slot (a lease in Redis) before it
 * starts, or parks in BullMQ's delayed set until a slot frees; the try that gives a slot back wakes
 * the next parked job of the key. Parked jobs are not attempts: nothing of the job's record or
 * log is touched, and BullMQ's attempts are not used up (a DelayedError is not a failure).
 *
 * Cost for a job of a capped key: one script to acquire, one to release (plus one promote per job
 * woken); a parked try adds BullMQ's move to delayed, one script and, later, one start more.
 * Jobs of keys without a cap cost nothing.
 */
export function createConcurrencyGate(options: ConcurrencyGateOptions) {
  const scripts = jobScripts(options.redis);
  const { keys, queue, leaseMs } = options;
  // BullMQ's own key layout: the job's hash, and its lock beside it.
  const jobKey = (queueJobId: string) => queue.toKey(queueJobId);

  /** Promotes a delayed job by id; false when it is no longer delayed (woken, cancelled, gone). */
  async function promote(queueJobId: string): Promise<boolean> {
    // BullMQ's promote needs only the id: no read of the job's hash (its request may be large).
    const job = new Job(queue as never, "completion", undefined, {}, queueJobId);
    return job.promote().then(
      () => true,
      () => false,
    );
  }

  return {
    /** Takes a slot for this try of a capped job (or renews the one it holds). */
    async acquire(job: Job<CompletionJobData>, cap: number): Promise<SlotAdmission> {
      const id = job.id as string;
      const [acquired, parks] = await scripts.llmgwConcurrencyAcquire(
        keys.running(job.data.owner.keyId),
        keys.parked(job.data.owner.keyId),
        jobKey(id),
        id,
        cap,
        leaseMs,
      );
      return { acquired: Number(acquired) === 1, parks: Number(parks) };
    },

    /**
     * Parks a try that did not get a slot, then throws BullMQ's DelayedError (the processor must let
     * it through). The job moves to delayed first and joins the line after, so no wake-up is lost.
     */
    async park(job: Job<CompletionJobData>, token: string, cap: number): Promise<never> {
      const id = job.id as string;
      await job.moveToDelayed(Date.now() + leaseMs, token);
      const promoteNow = await scripts
        .llmgwConcurrencyPark(
          keys.running(job.data.owner.keyId),
          keys.parked(job.data.owner.keyId),
          jobKey(id),
          id,
          cap,
          leaseMs,
          job.opts.priority ? "0" : "1",
          2 * leaseMs,
        )
        // The job is delayed already: out of line, its safety-net delay still wakes it.
        .catch(() => 0);
      // A release woke it in the meantime (already promoted) or the slot is reserved for it now.
      if (Number(promoteNow) === 1) await promote(id);
      throw new DelayedError(`parked: the key runs ${cap} jobs at once`);
    },

    /**
     * Gives the try's slot back and promotes the parked jobs that may run now; resolves to how many
     * woke. `token`: the releasing try's BullMQ token (a try taken over by another keeps its hands
     * off the slot); none from a caller running no try. `cap`: unknown to a cancel, which then
     * wakes one job only if it freed a slot.
     */
    async release(keyId: string, queueJobId: string, options: { token?: string; cap?: number } = {}): Promise<number> {
      const woken = await scripts.llmgwConcurrencyRelease(
        keys.running(keyId),
        keys.parked(keyId),
        queue.keys.delayed,
        `${jobKey(queueJobId)}:lock`,
        queueJobId,
        options.token ?? "",
        leaseMs,
        options.cap ?? "",
      );
      await Promise.all(woken.map(promote));
      return woken.length;
    },
  };
}

export type ConcurrencyGate = ReturnType<typeof createConcurrencyGate>;
