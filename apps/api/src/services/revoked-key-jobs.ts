import { isFinished, type JobStore } from "@llmgw/jobs";

export interface RevokedKeyJobsDeps {
  store: Pick<JobStore, "listOwnerJobIds" | "getMany">;
  /** The producer's cancel: idempotent, false once the job has ended. */
  cancel(jobId: string): Promise<boolean>;
  /** Ids read per page of the key's job index. */
  pageSize?: number;
}

/**
 * Cancels every queued or running job of a revoked key, so its upstream calls are aborted and each
 * gets its 499 usage entry. Every API instance hears the revocation and runs this; the cancel's
 * one Lua call ends a job once, so the instances racing on a job cannot write it twice.
 */
export function createRevokedKeyJobs(deps: RevokedKeyJobsDeps) {
  const pageSize = deps.pageSize ?? 200;
  // One sweep per key at a time here: the announcing instance hears its own message too.
  const sweeping = new Map<string, Promise<number>>();

  async function sweep(keyId: string): Promise<number> {
    let cancelled = 0;
    let after: string | undefined;
    for (;;) {
      const ids = await deps.store.listOwnerJobIds(keyId, pageSize, after);
      if (ids.length === 0) return cancelled;
      const records = await deps.store.getMany(ids);
      const open = records.filter((record) => record !== null && !isFinished(record.status));
      const outcomes = await Promise.all(open.map((record) => deps.cancel(record!.id)));
      cancelled += outcomes.filter(Boolean).length;
      if (ids.length < pageSize) return cancelled;
      after = ids[ids.length - 1];
    }
  }

  return {
    /** Cancels the key's unfinished jobs; resolves to how many this call ended (others may have ended the rest). */
    cancelAll(keyId: string): Promise<number> {
      const running = sweeping.get(keyId);
      if (running) return running;
      const swept = sweep(keyId).finally(() => sweeping.delete(keyId));
      sweeping.set(keyId, swept);
      return swept;
    },
  };
}

export type RevokedKeyJobs = ReturnType<typeof createRevokedKeyJobs>;
