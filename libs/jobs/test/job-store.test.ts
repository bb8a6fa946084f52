import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createJobEventHub, createJobStore, newJobId, type JobEvent } from "@llmgw/jobs";

const redisUrl = inject("redisUrl");
const prefix = `test-${randomUUID()}`;
const command = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
const store = createJobStore(command, { prefix, retentionSeconds: 3600 });
const hub = createJobEventHub(subscriber, store);
const owner = { keyId: "key_1", userId: "user_1" };

afterAll(async () => {
  command.disconnect();
  subscriber.disconnect();
});

async function newJob() {
  const id = newJobId();
  await store.create({ id, model: "m", provider: "p", owner, mode: "async" });
  return id;
}

describe("job store", () => {
  it("creates a job once and reports the existing one after", async () => {
    const id = newJobId();
    const created = await store.create({ id, model: "m", provider: "p", owner, mode: "async", metadata: { team: "a" } });
    // What create answers is what a read returns.
    expect(created).toEqual({ created: true, record: await store.get(id) });
    expect(await store.create({ id, model: "m", provider: "p", owner, mode: "async" })).toEqual({
      created: false,
      status: "queued",
    });
    const record = await store.get(id);
    expect(record).toMatchObject({ id, status: "queued", owner, attempt: 0, result: null, failure: null });
  });

  it("writes exactly one terminal event and nothing after it", async () => {
    const id = await newJob();
    expect(await store.start(id, 1)).toBeTruthy();
    expect(await store.cancel(id)).toBeTruthy();
    expect(await store.appendChunks(id, 1, [{ id: "c" } as never])).toBeNull();
    expect(await store.complete(id, 1, { id: "r" } as never)).toBeNull();
    expect(await store.cancel(id)).toBeNull();
    const types = (await store.readEventsAfter(id)).map((event) => event.type);
    expect(types).toEqual(["job.queued", "job.started", "job.cancelled"]);
    expect((await store.get(id))?.status).toBe("cancelled");
  });

  it("fences off an attempt that another attempt took over", async () => {
    const id = await newJob();
    await store.start(id, 1);
    await store.start(id, 2);
    expect(await store.appendChunks(id, 1, [{ id: "late" } as never])).toBeNull();
    expect(await store.complete(id, 1, { id: "late" } as never)).toBeNull();
    expect(await store.complete(id, 2, { id: "right" } as never)).toBeTruthy();
    expect((await store.get(id))?.result).toEqual({ id: "right" });
  });

  it("appends a batch of chunks as one log entry each, in order", async () => {
    const id = await newJob();
    await store.start(id, 1);
    await store.appendChunks(id, 1, [{ id: "a" }, { id: "b" }, { id: "c" }] as never[]);
    const chunks = (await store.readEventsAfter(id)).filter((event) => event.type === "job.chunk");
    expect(chunks.map((event) => (event.data as { id: string }).id)).toEqual(["a", "b", "c"]);
  });

  it("writes the usage entry with the job's end, and never a second time", async () => {
    const id = await newJob();
    await store.start(id, 1);
    const usage = { jobId: id, status: 200 } as never;
    const before = await command.xlen(store.keys.usage);
    expect(await store.complete(id, 1, { id: "r" } as never, usage)).toBeTruthy();
    expect(await store.fail(id, 1, { status: 502, error: {} } as never, usage)).toBeNull();
    expect(await command.xlen(store.keys.usage)).toBe(before + 1);
  });

  it("writes a cancelled job's usage entry with its cancel, once, and none when the job had already ended", async () => {
    const id = await newJob();
    const usage = { jobId: id, status: 499 } as never;
    const before = await command.xlen(store.keys.usage);
    expect(await store.cancel(id, usage)).toBeTruthy();
    expect(await store.cancel(id, usage)).toBeNull();
    const ended = await newJob();
    await store.start(ended, 1);
    await store.complete(ended, 1, { id: "r" } as never);
    expect(await store.cancel(ended, { jobId: ended, status: 499 } as never)).toBeNull();
    const entries = (await command.xrange(store.keys.usage, "-", "+")).slice(before);
    expect(entries.map(([, fields]) => JSON.parse(fields[1]))).toEqual([{ jobId: id, status: 499 }]);
  });

  it("reads events after a given id", async () => {
    const id = await newJob();
    await store.start(id, 1);
    for (let i = 0; i < 5; i++) await store.appendChunks(id, 1, [{ id: `c${i}` } as never]);
    const all = await store.readEventsAfter(id);
    const after = await store.readEventsAfter(id, all[3].id);
    expect(after.map((event) => event.id)).toEqual(all.slice(4).map((event) => event.id));
  });
});

describe("job event hub", () => {
  it("delivers the log after an id, then live events, in order and once", async () => {
    const id = await newJob();
    await store.start(id, 1);
    const first = await store.appendChunks(id, 1, [{ id: "c0" } as never]);
    const seen: JobEvent[] = [];
    let stop: (() => void) | undefined;
    const ended = new Promise<void>((resolve) => {
      void hub.watch(
        id,
        (event) => {
          seen.push(event);
          if (event.type === "job.completed") resolve();
        },
        { after: first! },
      ).then((s) => (stop = s));
    });
    // Appends race the watch's catch-up read on purpose: nothing may be lost or doubled.
    for (let i = 1; i < 20; i++) await store.appendChunks(id, 1, [{ id: `c${i}` } as never]);
    await store.complete(id, 1, { id: "r" } as never);
    await ended;
    stop?.();
    expect(seen.map((event) => (event.type === "job.chunk" ? event.data.id : event.type))).toEqual([
      ...Array.from({ length: 19 }, (_, i) => `c${i + 1}`),
      "job.completed",
    ]);
  });

  it("gives a final-only listener the job's end and nothing else", async () => {
    const id = await newJob();
    let stop: (() => void) | undefined;
    const seen: string[] = [];
    const ended = new Promise<void>((resolve) => {
      void hub
        .watch(
          id,
          (event) => {
            seen.push(event.type);
            resolve();
          },
          { finalOnly: true },
        )
        .then((s) => (stop = s));
    });
    await store.start(id, 1);
    await store.appendChunks(id, 1, [{ id: "a" }, { id: "b" }] as never[]);
    await store.complete(id, 1, { id: "r" } as never);
    await ended;
    stop?.();
    expect(seen).toEqual(["job.completed"]);
  });

  it("logs and publishes a try's last chunks with its completed event in one call", async () => {
    const id = await newJob();
    await store.start(id, 1);
    const live: string[] = [];
    const channel = store.keys.eventChannel(id);
    const listener = new Redis(redisUrl);
    await listener.subscribe(channel);
    const completed = new Promise<void>((resolve) =>
      listener.on("message", (_channel: string, message: string) => {
        live.push((JSON.parse(message) as JobEvent).type);
        if (live.includes("job.completed")) resolve();
      }),
    );
    expect(await store.complete(id, 1, { id: "r" } as never, undefined, [{ id: "a" }, { id: "b" }] as never[])).toBeTruthy();
    await completed;
    listener.disconnect();
    // Logged and published in order, the end last.
    const logged = await store.readEventsAfter(id);
    expect(logged.map((event) => (event.type === "job.chunk" ? (event.data as { id: string }).id : event.type))).toEqual([
      "job.queued",
      "job.started",
      "a",
      "b",
      "job.completed",
    ]);
    expect(live).toEqual(["job.chunk", "job.chunk", "job.completed"]);
  });

  it("tells the process named in the record when the job ends, on its own channel, without a SUBSCRIBE per job", async () => {
    const id = newJobId();
    let resolveEnded: (event: JobEvent) => void = () => {};
    const ended = new Promise<JobEvent>((resolve) => (resolveEnded = resolve));
    const watching = hub.watch(id, (event) => resolveEnded(event), { notified: true });
    await store.create({ id, model: "m", provider: "p", owner, mode: "sync-json", notify: hub.notifyChannel });
    const stop = await watching;
    const [, subscribers] = (await command.pubsub("NUMSUB", store.keys.eventChannel(id))) as [string, number];
    expect(subscribers).toBe(0);
    await store.start(id, 1);
    await store.complete(id, 1, { id: "r" } as never);
    expect(await ended).toMatchObject({ type: "job.completed", data: { result: { id: "r" } } });
    stop();
    expect(hub.watchedJobs).toBe(0);
  });

  it("gives a notified listener the end that was published while its subscriber was reconnecting", async () => {
    // Its own subscriber, which comes back 300 ms after a drop: the end is published meanwhile.
    const slowSubscriber = new Redis(redisUrl, { retryStrategy: () => 300 });
    const slowHub = createJobEventHub(slowSubscriber, store);
    await new Promise((resolve) => slowSubscriber.once("ready", resolve));
    const id = newJobId();
    const seen: { type: string; afterReconnect: boolean }[] = [];
    let reconnected = false;
    let resolveEnded: () => void = () => {};
    const ended = new Promise<void>((resolve) => (resolveEnded = resolve));
    const stop = await slowHub.watch(
      id,
      (event) => {
        seen.push({ type: event.type, afterReconnect: reconnected });
        resolveEnded();
      },
      { notified: true },
    );
    await store.create({ id, model: "m", provider: "p", owner, mode: "sync-json", notify: slowHub.notifyChannel });
    await store.start(id, 1);
    const away = new Promise<void>((resolve) => slowSubscriber.once("close", () => resolve()));
    slowSubscriber.disconnect(true);
    await away;
    slowSubscriber.once("ready", () => (reconnected = true));
    await store.complete(id, 1, { id: "r" } as never);
    await ended;
    stop();
    slowSubscriber.disconnect();
    expect(seen).toEqual([{ type: "job.completed", afterReconnect: true }]);
  });

  it("adds a joining process's channel once, and refuses it for a job that has already ended", async () => {
    const id = newJobId();
    await store.create({ id, model: "m", provider: "p", owner, mode: "sync-json", notify: "chan-a" });
    expect(await store.countWaiters(id, 1, "chan-b")).toBe(2);
    expect(await store.countWaiters(id, 1, "chan-a")).toBe(3);
    expect(await command.hget(store.keys.record(id), "notify")).toBe("chan-a chan-b");
    await store.cancel(id);
    expect(await store.countWaiters(id, 1, "chan-c")).toBeNull();
    expect(await command.hget(store.keys.record(id), "notify")).toBe("chan-a chan-b");
  });

  it("fans one job's events out to several listeners", async () => {
    const id = newJobId();
    const seen: string[][] = [[], [], []];
    const ended: Promise<void>[] = [];
    const stops = await Promise.all(
      seen.map((types) => {
        let resolve: () => void;
        ended.push(new Promise<void>((r) => (resolve = r)));
        const listener = (event: JobEvent) => {
          types.push(event.type);
          if (event.type === "job.cancelled") resolve();
        };
        return hub.watch(id, listener);
      }),
    );
    await store.create({ id, model: "m", provider: "p", owner, mode: "async" });
    await store.cancel(id);
    await Promise.all(ended);
    stops.forEach((stop) => stop());
    expect(seen).toEqual(Array(3).fill(["job.queued", "job.cancelled"]));
    expect(hub.watchedJobs).toBe(0);
  });
});
