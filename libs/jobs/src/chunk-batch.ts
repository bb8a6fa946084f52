import type { JobScripts } from "./scripts.js";

interface Waiter {
  resolve(id: string | null): void;
  reject(error: unknown): void;
}

/** Arguments in one call at most (Redis takes more; this bounds one call's size and its argument list). */
const MAX_ARGUMENTS_PER_CALL = 4000;

/**
 * The chunk appends of every try running on a connection, sent as one script call per event-loop
 * turn (append-chunks-of-jobs.lua) instead of one call per try: with hundreds of streams at once a
 * turn carries chunks of dozens, and a call costs ioredis and Redis much the same whatever it
 * carries. A lone chunk waits for nothing: its call leaves at the end of the turn it arrived in, as
 * ioredis's auto-pipelining would send it (the call itself goes out at once, not through
 * auto-pipelining, which would hold it one turn more: jobScripts' runNow).
 */
export function createChunkBatch(scripts: Pick<JobScripts, "llmgwAppendChunksOfJobs">, maxEvents: number) {
  const eventsBound = String(maxEvents);
  // The next call's keys and arguments, built as appends come (append-chunks-of-jobs.lua), and who waits on it.
  let keys: string[] = [];
  let args: string[] = [eventsBound];
  let waiters: Waiter[] = [];

  function flush() {
    if (waiters.length === 0) return;
    const batch = waiters;
    scripts.llmgwAppendChunksOfJobs(keys.length, keys, args).then(
      (ids) => batch.forEach((waiter, index) => waiter.resolve(ids[index] ?? null)),
      (error: unknown) => batch.forEach((waiter) => waiter.reject(error)),
    );
    keys = [];
    args = [eventsBound];
    waiters = [];
  }

  return {
    /** Appends one try's chunks (JSON texts) with the turn's others; the last event's id, or null when its job refused them. */
    append(job: { record: string; events: string; channel: string }, attempt: number, texts: string[]): Promise<string | null> {
      if (waiters.length === 0) setImmediate(flush);
      keys.push(job.record, job.events);
      args.push(job.channel, String(attempt), String(texts.length));
      for (const text of texts) args.push(text);
      const written = new Promise<string | null>((resolve, reject) => waiters.push({ resolve, reject }));
      if (args.length >= MAX_ARGUMENTS_PER_CALL) flush();
      return written;
    },
  };
}
