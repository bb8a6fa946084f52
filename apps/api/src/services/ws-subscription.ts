import type { JobEvent, JobEventHub, JobStore } from "@llmgw/jobs";
import { isTerminalEvent, readJobLog, toEventFrame } from "./job-event-frames.js";

/** Where a subscription's frames go: `written` runs once the frame has left, or at once when it was not sent. */
export type FrameSink = (frame: object, written?: () => void) => void;

export interface JobSubscription {
  readonly stopped: boolean;
  /** Stops it (unsubscribe, socket closed); `onEnd` is not called then. */
  stop(): void;
}

export interface SubscribeOptions {
  store: JobStore;
  hub: JobEventHub;
  jobId: string;
  /** Only events after this id. */
  after: string | undefined;
  /** The job had ended when it was looked up: its log is complete, nothing live will follow. */
  finished: boolean;
  send: FrameSink;
  /** The subscription ended by itself: after the job's final event, or with an error. */
  onEnd(error?: unknown): void;
}

/**
 * One socket's subscription to one job: the log after `after`, a page at a time and paced by the
 * socket (the next page is read once the previous one has left, so a long replay never piles up
 * in memory), then live events from the process's one event hub, until the job's final event.
 */
export function subscribeToJob(options: SubscribeOptions): JobSubscription {
  const { jobId, send } = options;
  let stopped = false;
  let stopWatch: (() => void) | null = null;

  const end = (error?: unknown) => {
    if (stopped) return;
    stopped = true;
    stopWatch?.();
    options.onEnd(error);
  };

  function deliver(event: JobEvent, written?: () => void) {
    if (stopped) return written?.();
    send(toEventFrame(jobId, event), written);
    if (isTerminalEvent(event)) end();
  }

  async function run() {
    let lastId = options.after;
    for await (const page of readJobLog(options.store, jobId, options.after)) {
      if (stopped) return;
      const last = page[page.length - 1];
      await new Promise<void>((resolve) => {
        for (const event of page) deliver(event, event === last ? resolve : undefined);
      });
      lastId = last.id;
    }
    if (stopped) return;
    // `after` was at or past the final event: there is nothing more to send.
    if (options.finished) return end();
    const stop = await options.hub.watch(jobId, (event) => deliver(event), { after: lastId });
    stopWatch = stop;
    // Stopped or ended while the watch was starting.
    if (stopped) stop();
  }

  void run().catch((error) => end(error));

  return {
    get stopped() {
      return stopped;
    },
    stop() {
      stopped = true;
      stopWatch?.();
    },
  };
}
