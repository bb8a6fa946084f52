import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { terminalEventTypes, type JobEventType } from "./contract.js";
import { compareEventIds } from "./job-ids.js";
import type { JobStore } from "./job-store.js";
import type { JobEvent } from "./types.js";

export type JobEventListener = (event: JobEvent) => void;

/** A watch that cannot subscribe within this answers as a Redis outage instead of hanging. */
const SUBSCRIBE_TIMEOUT_MS = 1500;

function withinTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Command timed out: Redis subscribe")), SUBSCRIBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface WatchOptions {
  /** Deliver only events after this id (Last-Event-ID); all of them without it. */
  after?: string;
  /** Deliver only the job's final event: a synchronous JSON caller needs nothing else. */
  finalOnly?: boolean;
  /**
   * The job's record names this hub's `notifyChannel` (set when the job was created or joined,
   * before its end could happen): its final event arrives there, with no SUBSCRIBE of its own and
   * no log to read. Implies `finalOnly`.
   */
  notified?: boolean;
}

interface Watcher {
  jobId: string;
  listener: JobEventListener;
  lastId: string | undefined;
  /** Live messages that arrive while the log is being read are held here, then de-duplicated. */
  pending: JobEvent[] | null;
  closed: boolean;
  finalOnly: boolean;
  /** Listens on the job's own channel (false: only this hub's notify channel). */
  subscribed: boolean;
}

const TYPE_FIELD = '"type":"';

/** The event type of a message as append-job-events.lua writes it, read without parsing the rest. */
function typeOf(message: string): string {
  const start = message.indexOf(TYPE_FIELD) + TYPE_FIELD.length;
  return message.slice(start, message.indexOf('"', start));
}

/**
 * One Redis subscriber per process fans every job's events out to all local listeners
 * (sync waiters, SSE streams, WebSocket subscriptions). Each listener gets the log after its
 * id, then live events, in order and without duplicates, also across a subscriber reconnect.
 * Listeners that want only the end of a job this process created or joined (`notified`) hear it
 * on the process's own channel, subscribed once, instead of one SUBSCRIBE per job.
 */
export function createJobEventHub(subscriber: Redis, store: JobStore) {
  const watchers = new Map<string, Set<Watcher>>();
  /** The SUBSCRIBE of each watched job; a second watcher must wait for it too before reading the log. */
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
    if (watcher.finalOnly && !terminalEventTypes.includes(event.type)) return;
    if (watcher.lastId !== undefined && compareEventIds(event.id, watcher.lastId) <= 0) return;
    watcher.lastId = event.id;
    watcher.listener(event);
  }

  async function catchUp(watcher: Watcher) {
    watcher.pending = watcher.pending ?? [];
    try {
      for (;;) {
        const events = await store.readEventsAfter(watcher.jobId, watcher.lastId);
        for (const event of events) deliver(watcher, event);
        if (events.length < 1000 || watcher.closed) break;
      }
    } finally {
      const held = watcher.pending ?? [];
      watcher.pending = null;
      for (const event of held) deliver(watcher, event);
    }
  }

  subscriber.on("message", (channel: string, message: string) => {
    if (channel === notifyChannel) {
      // `<job id> <final event>`, published by append-job-events.lua.
      const space = message.indexOf(" ");
      const event = JSON.parse(message.slice(space + 1)) as JobEvent;
      for (const watcher of [...(watchers.get(message.slice(0, space)) ?? [])]) deliver(watcher, event);
      return;
    }
    if (!channel.startsWith(channelPrefix)) return;
    const set = watchers.get(channel.slice(channelPrefix.length));
    if (!set) return;
    // Most messages are chunks; when every local listener waits only for the end, skip parsing them.
    const anyWantsAll = [...set].some((watcher) => !watcher.finalOnly);
    if (!anyWantsAll && !terminalEventTypes.includes(typeOf(message) as JobEventType)) return;
    const event = JSON.parse(message) as JobEvent;
    for (const watcher of [...set]) {
      if (watcher.pending) watcher.pending.push(event);
      else deliver(watcher, event);
    }
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

  return {
    /** The channel to name in a job's record (create, join) for `notified` watches. */
    notifyChannel,

    /** Starts delivering the job's events to `listener`; resolves to a function that stops it. */
    async watch(jobId: string, listener: JobEventListener, options: WatchOptions = {}): Promise<() => void> {
      // The subscriber queues commands while disconnected (to resubscribe); a new watch must not wait on that.
      if (subscriber.status !== "ready") throw new Error("Redis not ready: the event subscriber is reconnecting");
      const watcher: Watcher = {
        jobId,
        listener,
        lastId: options.after,
        pending: null,
        closed: false,
        finalOnly: options.finalOnly === true || options.notified === true,
        subscribed: options.notified !== true,
      };
      let set = watchers.get(jobId);
      if (!set) watchers.set(jobId, (set = new Set()));
      if (watcher.subscribed && !subscriptions.has(jobId)) subscriptions.set(jobId, subscriber.subscribe(store.keys.eventChannel(jobId)));
      const subscribed = subscriptions.get(jobId);
      // Registered before anything is awaited: the caller creates or joins the job right after.
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
        if (watcher.subscribed) {
          watcher.pending = [];
          await withinTimeout(subscribed!);
          await catchUp(watcher);
        } else {
          await withinTimeout(notifySubscribed);
        }
      } catch (error) {
        stop();
        throw error;
      }
      return stop;
    },

    /** Number of jobs with at least one local listener. */
    get watchedJobs() {
      return watchers.size;
    },
  };
}

export type JobEventHub = ReturnType<typeof createJobEventHub>;
