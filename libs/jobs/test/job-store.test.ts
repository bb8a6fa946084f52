import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { GatewayError } from "@llmgw/errors";
import { createJobStore, MAX_METADATA_JSON_BYTES, newJobId, type JobEvent } from "@llmgw/jobs";

const redisUrl = inject("redisUrl");
const prefix = `test-${randomUUID()}`;
const command = new Redis(redisUrl);
const store = createJobStore(command, { prefix, retentionSeconds: 3600 });
const owner = { keyId: "key_1", userId: "user_1" };

afterAll(async () => {
  command.disconnect();
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

  it("refuses metadata whose JSON exceeds 16 KiB with a 400 naming the bound, and writes nothing", async () => {
    const id = newJobId();
    // 16 values of 512 four-byte characters: within the API schema's shape, 32 KiB of UTF-8 JSON.
    const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`k${index}`, "😀".repeat(512)]));
    const refused = await store.create({ id, model: "m", provider: "p", owner, mode: "async", metadata }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).toErrorObject()).toEqual({
      message: expect.stringMatching(/^Invalid value for 'metadata': its JSON must NOT be larger than 16384 bytes \(16 KiB\), got \d+\.$/),
      type: "invalid_request_error",
      param: "metadata",
      code: "invalid_request",
    });
    expect((refused as GatewayError).status).toBe(400);
    expect(await store.get(id)).toBeNull();
    // Exactly at the bound is accepted: {"k":"…"} is 8 bytes of JSON around the value.
    const atBound = { k: "x".repeat(MAX_METADATA_JSON_BYTES - 8) };
    expect(await store.create({ id, model: "m", provider: "p", owner, mode: "async", metadata: atBound })).toMatchObject({ created: true });
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

  it("sends the chunks of several jobs that arrive in one turn in one call, each job fenced on its own", async () => {
    const connection = new Redis(redisUrl);
    try {
      const batching = createJobStore(connection, { prefix, retentionSeconds: 3600 });
      const [a, b, c] = await Promise.all([newJob(), newJob(), newJob()]);
      await Promise.all([store.start(a, 1), store.start(b, 1), store.start(b, 2), store.start(c, 1)]);
      await store.cancel(c);
      await connection.ping(); // connected: its handshake is not counted
      const sent = vi.spyOn(connection, "sendCommand");
      const written = await Promise.all([
        batching.appendChunks(a, 1, [{ id: "a1" }, { id: "a2" }] as never[]),
        batching.appendChunks(b, 1, [{ id: "b-late" }] as never[]), // attempt 2 took b over
        batching.appendChunks(c, 1, [{ id: "c-late" }] as never[]), // c was cancelled
        batching.appendChunks(b, 2, [{ id: "b1" }] as never[]),
      ]);
      expect(sent).toHaveBeenCalledTimes(1);
      expect(written.map((id) => id !== null)).toEqual([true, false, false, true]);
      const chunkIds = async (id: string) =>
        (await store.readEventsAfter(id)).filter((event) => event.type === "job.chunk").map((event) => (event.data as { id: string }).id);
      expect(await chunkIds(a)).toEqual(["a1", "a2"]);
      expect(await chunkIds(b)).toEqual(["b1"]);
      expect(await chunkIds(c)).toEqual([]);
      expect(written[0]).toBe((await store.readLastEvent(a))?.id);
    } finally {
      connection.disconnect();
    }
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

describe("job log and notify channels", () => {
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
});
