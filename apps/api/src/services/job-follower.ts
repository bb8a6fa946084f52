import type { JobEvent, JobEventHub, WatchOptions } from "@llmgw/jobs";
import { terminalEventTypes } from "@llmgw/jobs";

export interface JobFollower extends AsyncIterable<JobEvent> {
  /** The next event, or null once `deadline` (epoch ms) passes or the follower is closed. */
  next(deadline?: number): Promise<JobEvent | null>;
  close(): void;
}

/**
 * A job's events as a pull-based sequence for one reader (a sync waiter, an SSE stream),
 * fed by the process's event hub. Iteration ends after the terminal event.
 */
export async function followJob(hub: JobEventHub, jobId: string, options: WatchOptions = {}): Promise<JobFollower> {
  const buffered: JobEvent[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  const stop = await hub.watch(
    jobId,
    (event) => {
      buffered.push(event);
      wake?.();
    },
    options,
  );

  async function next(deadline?: number): Promise<JobEvent | null> {
    while (buffered.length === 0) {
      if (closed) return null;
      const waitMs = deadline === undefined ? undefined : deadline - Date.now();
      if (waitMs !== undefined && waitMs <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = waitMs === undefined ? undefined : setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    return buffered.shift() ?? null;
  }

  const close = () => {
    closed = true;
    stop();
    wake?.();
  };

  return {
    next,
    close,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const event = await next();
          if (!event) return;
          yield event;
          if (terminalEventTypes.includes(event.type)) return;
        }
      } finally {
        close();
      }
    },
  };
}
