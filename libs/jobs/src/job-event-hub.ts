import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { terminalEventTypes } from "./contract.js";
import { compareEventIds } from "./job-ids.js";
import { JOB_LOG_PAGE_SIZE, type JobStore } from "./job-store.js";
import { parseEventMessage } from "./logged-event.js";
import type { JobEvent } from "./types.js";

/** A follow that cannot subscribe within this answers as a Redis outage instead of hanging. */
const SUBSCRIBE_TIMEOUT_MS = 1500;

function withinTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Command timed out: Redis subscribe")), SUBSCRIBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface FollowOptions {
  /** Only events after this id (Last-Event-ID); all of them without it. */
  after?: string;
  /** Only the job's final event: a synchronous JSON caller needs nothing else. */
  endOnly?: boolean;
  /**
   * The job's record names this hub's `notifyChannel` (set when the job was created or joined,
   * before its end could happen): its final event arrives there, with no SUBSCRIBE of its own and
   * no log to read. Implies `endOnly`.
   */
  notified?: boolean;
}

/**
 * One reader's view of a job: the log after `after`, read a page at a time as the reader asks for
 * more (so a long replay is paced by the reader, never buffered whole), then live events, in order
 * and without duplicates; it ends after the job's final event.
 */
export interface JobFollower extends AsyncIterable<JobEvent> {
  /** The next event, or null once `deadline` (epoch ms) passes or the follower is closed. */
  next(deadline?: number): Promise<JobEvent | null>;
  /** True while events wait to be read (the log still being replayed, or a backlog): a reader may pace those by its client. */
  readonly behind: boolean;
  close(): void;
}

interface Watcher {
  jobId: string;
  lastId: string | undefined;
  endOnly: boolean;
  /** Listens on the job's own channel (false: only this hub's notify channel). */
  subscribed: boolean;
  /** Live events held while the log is read (replay or catch-up), then de-duplicated; null when live. */
  held: JobEvent[] | null;
  closed: boolean;
  /** Where delivered events go (the follower's queue). */
  accept(event: JobEvent): void;
}

const isTerminal = (event: JobEvent) => terminalEventTypes.includes(event.type);

/**
 * One Redis subscriber per process fans every job's events out to all local followers (sync
 * waiters, SSE streams, WebSocket subscriptions), also across a subscriber reconnect. Followers
 * that want only the end of a job this process created or joined (`notified`) hear it on the
 * process's own channel, subscribed once, instead of one SUBSCRIBE per job.
 */
export function createJobEventHub(subscriber: Redis, store: JobStore) {
  const watchers = new Map<string, Set<Watcher>>();
  /** The SUBSCRIBE of each watched job; a second follower must wait for it too before reading the log. */
  const subscriptions = new Map<string, Promise<unknown>>();
  const channelPrefix = store.keys.eventChannel("");
  const notifyChannel = store.keys.notifyChannel(randomUUID());
  // Subscribed again on every reconnect (ioredis resubscribes too; this tells when it is done).
  let notifySubscribed: Promise<unknown>;
  const subscribeNotify = () => {
    notifySubscribed = subscriber.subscribe(notifyChannel);
    notifySubscribed.catch(() => {});
  };
  subscribeNotify();

  function deliver(watcher: Watcher, event: JobEvent) {
    if (watcher.closed) return;
    if (watcher.held) {
      watcher.held.push(event);
      return;
    }
    if (watcher.endOnly && !isTerminal(event)) return;
    if (watcher.lastId !== undefined && compareEventIds(event.id, watcher.lastId) <= 0) return;
    watcher.lastId = event.id;
    watcher.accept(event);
  }

  /** Ends a hold: the held live events go out, those the log already gave dropped by id. */
  function goLive(watcher: Watcher) {
    const held = watcher.held ?? [];
    watcher.held = null;
    for (const event of held) deliver(watcher, event);
  }

  /** After a reconnect: what was published meanwhile is read from the log (messages were lost). */
  async function catchUp(watcher: Watcher) {
    if (watcher.held) return; // still replaying: the replay reads the log anyway
    watcher.held = [];
    try {
      let cursor = watcher.lastId;
      for (;;) {
        const events = await store.readEventsAfter(watcher.jobId, cursor);
        for (const event of events) deliverNow(watcher, event);
        if (events.length < JOB_LOG_PAGE_SIZE || watcher.closed) break;
        cursor = events[events.length - 1].id;
      }
    } finally {
      goLive(watcher);
    }
  }

  /** Delivers an event read from the log while live events are held. */
  function deliverNow(watcher: Watcher, event: JobEvent) {
    const held = watcher.held;
    watcher.held = null;
    deliver(watcher, event);
    watcher.held = held;
  }

  subscriber.on("message", (channel: string, message: string) => {
    if (channel === notifyChannel) {
      // `<job id> <final event>`, published by append-job-events.lua.
      const space = message.indexOf(" ");
      const event = parseEventMessage(message.slice(space + 1));
      for (const watcher of [...(watchers.get(message.slice(0, space)) ?? [])]) deliver(watcher, event);
      return;
    }
    if (!channel.startsWith(channelPrefix)) return;
    const set = watchers.get(channel.slice(channelPrefix.length));
    if (!set) return;
    // Read without parsing its data: a chunk is forwarded as it was logged.
    const event = parseEventMessage(message);
    for (const watcher of [...set]) deliver(watcher, event);
  });

  // Messages published while the subscriber was away are lost; the log still has them.
  let connectedOnce = subscriber.status === "ready";
  subscriber.on("ready", () => {
    subscribeNotify();
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    for (const set of watchers.values()) for (const watcher of set) void catchUp(watcher).catch(() => {});
  });

  /** Registers a watcher (holding live events) and waits until its channel is subscribed. */
  async function register(watcher: Watcher): Promise<() => void> {
    const { jobId } = watcher;
    let set = watchers.get(jobId);
    if (!set) watchers.set(jobId, (set = new Set()));
    if (watcher.subscribed && !subscriptions.has(jobId)) subscriptions.set(jobId, subscriber.subscribe(store.keys.eventChannel(jobId)));
    // Registered before anything is awaited: the caller may create or join the job right after.
    set.add(watcher);
    const stop = () => {
      if (watcher.closed) return;
      watcher.closed = true;
      set.delete(watcher);
      if (watchers.get(jobId) !== set) return;
      if (set.size === 0) watchers.delete(jobId);
      if (subscriptions.has(jobId) && ![...set].some((other) => other.subscribed)) {
        subscriptions.delete(jobId);
        void subscriber.unsubscribe(store.keys.eventChannel(jobId)).catch(() => {});
      }
    };
    try {
      await withinTimeout(watcher.subscribed ? subscriptions.get(jobId)! : notifySubscribed);
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  /** Follows a job: its log after `after`, then its live events, until its final event (see JobFollower). */
  async function followJob(jobId: string, options: FollowOptions = {}): Promise<JobFollower> {
    // The subscriber queues commands while disconnected (to resubscribe); a new follow must not wait on that.
    if (subscriber.status !== "ready") throw new Error("Redis not ready: the event subscriber is reconnecting");
    const notified = options.notified === true;
    const queue: JobEvent[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    // A notified follower has no log to read: the job's end comes to the notify channel.
    let replaying = !notified;
    const watcher: Watcher = {
      jobId,
      lastId: options.after,
      endOnly: options.endOnly === true || notified,
      subscribed: !notified,
      held: notified ? null : [],
      closed: false,
      accept(event) {
        queue.push(event);
        wake?.();
      },
    };
    const stop = await register(watcher);

    /** Reads the next page of the log into the queue; the last page hands over to live events. */
    let cursor = options.after;
    async function replayPage() {
      const page = await store.readEventsAfter(jobId, cursor);
      for (const event of page) deliverNow(watcher, event);
      if (page.length < JOB_LOG_PAGE_SIZE || page.some(isTerminal) || watcher.closed) {
        // Resumed at or past the final event: nothing more will come.
        if (options.after !== undefined && !page.some(isTerminal)) ended = await endedBefore(page.at(-1)?.id ?? options.after);
        replaying = false;
        goLive(watcher);
      } else {
        cursor = page[page.length - 1].id;
      }
    }

    async function endedBefore(eventId: string): Promise<boolean> {
      const last = await store.readLastEvent(jobId);
      return last !== null && isTerminal(last) && compareEventIds(last.id, eventId) <= 0;
    }

    // One timer per deadline, not one per wait: a stream's reader waits once per chunk.
    let deadlineTimer: NodeJS.Timeout | undefined;
    let timerDeadline: number | undefined;
    function wakeAt(deadline: number) {
      if (timerDeadline === deadline) return;
      clearTimeout(deadlineTimer);
      timerDeadline = deadline;
      // A timer may fire a millisecond before Date.now() reaches the deadline: the next wait arms it again.
      deadlineTimer = setTimeout(() => {
        timerDeadline = undefined;
        wake?.();
      }, deadline - Date.now()).unref();
    }

    async function next(deadline?: number): Promise<JobEvent | null> {
      for (;;) {
        if (queue.length > 0) {
          const event = queue.shift()!;
          if (isTerminal(event)) ended = true;
          return event;
        }
        if (watcher.closed || ended) return null;
        if (replaying) {
          await replayPage();
          continue;
        }
        if (deadline !== undefined) {
          if (deadline <= Date.now()) return null;
          wakeAt(deadline);
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    }

    const close = () => {
      stop();
      clearTimeout(deadlineTimer);
      wake?.();
    };

    return {
      next,
      close,
      get behind() {
        return replaying || queue.length > 0;
      },
      async *[Symbol.asyncIterator]() {
        try {
          for (let event = await next(); event; event = await next()) yield event;
        } finally {
          close();
        }
      },
    };
  }

  return {
    /** The channel to name in a job's record (create, join) for `notified` follows. */
    notifyChannel,
    followJob,
    /** Number of jobs with at least one local follower. */
    get watchedJobs() {
      return watchers.size;
    },
  };
}

export type JobEventHub = ReturnType<typeof createJobEventHub>;
