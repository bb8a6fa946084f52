import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { createJobEventHub, createJobStore, JOB_LOG_PAGE_SIZE, newJobId, type JobEvent, type JobFollower } from "@llmgw/jobs";

const redisUrl = inject("redisUrl");
const prefix = `test-${randomUUID()}`;
const command = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
const store = createJobStore(command, { prefix, retentionSeconds: 3600 });
const hub = createJobEventHub(subscriber, store);
const owner = { keyId: "key_1", userId: "user_1" };

afterAll(() => {
  command.disconnect();
  subscriber.disconnect();
});

async function newJob() {
  const id = newJobId();
  await store.create({ id, model: "m", provider: "p", owner, mode: "async" });
  return id;
}

/** What a follower yields, as chunk ids and event types, until its end. */
async function drain(follower: JobFollower): Promise<string[]> {
  const seen: string[] = [];
  for await (const event of follower) seen.push(label(event));
  return seen;
}

const label = (event: JobEvent) => (event.type === "job.chunk" ? (event.data as unknown as { id: string }).id : event.type);

describe("followJob", () => {
  it("replays the log after an id, then goes live, in order and once, and ends after the final event", async () => {
    const id = await newJob();
    await store.start(id, 1);
    const first = await store.appendChunks(id, 1, [{ id: "c0" } as never]);
    const follower = await hub.followJob(id, { after: first! });
    const seen = drain(follower);
    // Appends race the follower's replay on purpose: nothing may be lost or doubled.
    for (let i = 1; i < 20; i++) await store.appendChunks(id, 1, [{ id: `c${i}` } as never]);
    await store.complete(id, 1, { id: "r" } as never);
    expect(await seen).toEqual([...Array.from({ length: 19 }, (_, i) => `c${i + 1}`), "job.completed"]);
    expect(hub.watchedJobs).toBe(0);
  });

  it("reads a long log a page at a time, as the reader asks for more", async () => {
    const id = await newJob();
    await store.start(id, 1);
    const total = JOB_LOG_PAGE_SIZE * 2 + 10;
    const chunks = Array.from({ length: total }, (_, i) => ({ id: `c${i}` }) as never);
    for (let i = 0; i < total; i += 100) await store.appendChunks(id, 1, chunks.slice(i, i + 100));
    await store.complete(id, 1, { id: "r" } as never);
    const reads: number[] = [];
    const counting = { ...store, readEventsAfter: (...args: Parameters<typeof store.readEventsAfter>) => store.readEventsAfter(...args).then((page) => (reads.push(page.length), page)) };
    const pacedSubscriber = subscriber.duplicate();
    const pacedHub = createJobEventHub(pacedSubscriber, counting);
    await new Promise((resolve) => pacedSubscriber.once("ready", resolve));
    const follower = await pacedHub.followJob(id);
    expect(follower.behind).toBe(true);
    expect((await follower.next())?.type).toBe("job.queued");
    // One page read so far, however long the log.
    expect(reads).toEqual([JOB_LOG_PAGE_SIZE]);
    const rest = await drain(follower);
    expect(rest).toHaveLength(total + 2);
    expect(rest.at(-1)).toBe("job.completed");
    expect(reads).toHaveLength(3);
    pacedSubscriber.disconnect();
  });

  it("ends at once when resumed at the final event of a finished job", async () => {
    const id = await newJob();
    await store.cancel(id);
    const events = await store.readEventsAfter(id);
    const follower = await hub.followJob(id, { after: events.at(-1)!.id });
    expect(await follower.next(Date.now() + 5_000)).toBeNull();
    follower.close();
  });

  it("answers null once the deadline passes with nothing new, and goes on serving events with a later one", async () => {
    const id = await newJob();
    const follower = await hub.followJob(id);
    expect((await follower.next())?.type).toBe("job.queued");
    const began = Date.now();
    expect(await follower.next(began + 200)).toBeNull();
    expect(Date.now() - began).toBeGreaterThanOrEqual(199);
    await store.start(id, 1);
    expect((await follower.next(Date.now() + 5_000))?.type).toBe("job.started");
    const chunk = follower.next(Date.now() + 5_000);
    await store.appendChunks(id, 1, [{ id: "a" }] as never[]);
    expect((await chunk)?.type).toBe("job.chunk");
    follower.close();
  });

  it("answers null at the deadline also when its timer fires before the clock reaches it (as 1-2% of Node's timers do)", async () => {
    const id = await newJob();
    const follower = await hub.followJob(id);
    expect((await follower.next())?.type).toBe("job.queued");
    const start = Date.now();
    let clock = start;
    vi.spyOn(Date, "now").mockImplementation(() => clock);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      let answer: JobEvent | null | undefined;
      void follower.next(start + 100).then((value) => (answer = value));
      await vi.advanceTimersByTimeAsync(0);
      // The timer fires with the wall clock one millisecond short of the deadline.
      clock = start + 99;
      await vi.advanceTimersByTimeAsync(100);
      expect(answer).toBeUndefined();
      clock = start + 101;
      await vi.advanceTimersByTimeAsync(5);
      expect(answer).toBeNull();
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
      follower.close();
    }
  });

  it("gives an end-only follower the job's end and nothing else", async () => {
    const id = await newJob();
    const follower = await hub.followJob(id, { endOnly: true });
    const seen = drain(follower);
    await store.start(id, 1);
    await store.appendChunks(id, 1, [{ id: "a" }, { id: "b" }] as never[]);
    await store.complete(id, 1, { id: "r" } as never);
    expect(await seen).toEqual(["job.completed"]);
  });

  it("tells the process named in the record when the job ends, on its own channel, without a SUBSCRIBE per job", async () => {
    const id = newJobId();
    const following = hub.followJob(id, { notified: true });
    await store.create({ id, model: "m", provider: "p", owner, mode: "sync-json", notify: hub.notifyChannel });
    const follower = await following;
    const [, subscribers] = (await command.pubsub("NUMSUB", store.keys.eventChannel(id))) as [string, number];
    expect(subscribers).toBe(0);
    await store.start(id, 1);
    await store.complete(id, 1, { id: "r" } as never);
    expect(await follower.next()).toMatchObject({ type: "job.completed", data: { result: { id: "r" } } });
    expect(await follower.next()).toBeNull();
    follower.close();
    expect(hub.watchedJobs).toBe(0);
  });

  it("gives a notified follower the end that was published while its subscriber was reconnecting", async () => {
    // Its own subscriber, which comes back 300 ms after a drop: the end is published meanwhile.
    const slowSubscriber = new Redis(redisUrl, { retryStrategy: () => 300 });
    const slowHub = createJobEventHub(slowSubscriber, store);
    await new Promise((resolve) => slowSubscriber.once("ready", resolve));
    const id = newJobId();
    const follower = await slowHub.followJob(id, { notified: true });
    await store.create({ id, model: "m", provider: "p", owner, mode: "sync-json", notify: slowHub.notifyChannel });
    await store.start(id, 1);
    const away = new Promise<void>((resolve) => slowSubscriber.once("close", () => resolve()));
    slowSubscriber.disconnect(true);
    await away;
    let reconnected = false;
    slowSubscriber.once("ready", () => (reconnected = true));
    await store.complete(id, 1, { id: "r" } as never);
    expect((await follower.next())?.type).toBe("job.completed");
    expect(reconnected).toBe(true);
    follower.close();
    slowSubscriber.disconnect();
  });

  it("catches a live follower up from the log after its subscriber reconnects", async () => {
    const slowSubscriber = new Redis(redisUrl, { retryStrategy: () => 300 });
    const slowHub = createJobEventHub(slowSubscriber, store);
    await new Promise((resolve) => slowSubscriber.once("ready", resolve));
    const id = await newJob();
    const follower = await slowHub.followJob(id);
    expect((await follower.next())?.type).toBe("job.queued");
    const away = new Promise<void>((resolve) => slowSubscriber.once("close", () => resolve()));
    slowSubscriber.disconnect(true);
    await away;
    await store.start(id, 1);
    await store.appendChunks(id, 1, [{ id: "lost" }] as never[]);
    await store.complete(id, 1, { id: "r" } as never);
    expect(await drain(follower)).toEqual(["job.started", "lost", "job.completed"]);
    slowSubscriber.disconnect();
  });

  it("fans one job's events out to several followers", async () => {
    const id = newJobId();
    const followers = await Promise.all([1, 2, 3].map(() => hub.followJob(id)));
    const seen = Promise.all(followers.map(drain));
    await store.create({ id, model: "m", provider: "p", owner, mode: "async" });
    await store.cancel(id);
    expect(await seen).toEqual(Array(3).fill(["job.queued", "job.cancelled"]));
    expect(hub.watchedJobs).toBe(0);
  });
});
