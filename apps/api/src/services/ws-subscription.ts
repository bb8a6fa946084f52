import type { JobEventHub } from "@llmgw/jobs";
import { toEventFrame } from "./job-event-frames.js";

/** Where a subscription's frames go: `written` runs once the frame has left, or at once when it was not sent. */
export type FrameSink = (frame: object, written?: () => void) => void;

export interface JobSubscription {
  readonly stopped: boolean;
  /** Stops it (unsubscribe, socket closed); `onEnd` is not called then. */
  stop(): void;
}

export interface SubscribeOptions {
  hub: JobEventHub;
  jobId: string;
  /** Only events after this id. */
  after: string | undefined;
  send: FrameSink;
  /** The subscription ended by itself: after the job's final event, or with an error. */
  onEnd(error?: unknown): void;
}

/**
 * One socket's subscription to one job, through the process's one event hub: the log after
 * `after` and then live events, until the job's final event. While the follower is behind (a long
 * replay, a backlog) each frame waits until the previous one has left, so nothing piles up in memory.
 */
export function subscribeToJob(options: SubscribeOptions): JobSubscription {
  const { jobId, send } = options;
  let stopped = false;
  let close: (() => void) | null = null;

  async function run() {
    const follower = await options.hub.followJob(jobId, { after: options.after });
    close = follower.close;
    if (stopped) return follower.close();
    for await (const event of follower) {
      if (stopped) return;
      if (follower.behind) await new Promise<void>((resolve) => send(toEventFrame(jobId, event), resolve));
      else send(toEventFrame(jobId, event));
    }
  }

  void run().then(
    () => {
      if (!stopped) {
        stopped = true;
        options.onEnd();
      }
    },
    (error: unknown) => {
      if (stopped) return;
      stopped = true;
      options.onEnd(error);
    },
  );

  return {
    get stopped() {
      return stopped;
    },
    stop() {
      stopped = true;
      close?.();
    },
  };
}
