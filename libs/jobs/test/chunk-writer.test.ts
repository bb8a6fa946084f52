import { describe, expect, it } from "vitest";
import type { ChatCompletionChunk } from "@llmgw/providers";
import { createChunkWriter } from "../src/chunk-writer.js";

const chunk = (id: string) => ({ id }) as unknown as ChatCompletionChunk;

/** An append whose writes the test completes by hand, in order. */
function manualAppend() {
  const writes: { batch: string[]; finish: (written: boolean | Error) => void }[] = [];
  const append = (batch: ChatCompletionChunk[]) =>
    new Promise<boolean>((resolve, reject) => {
      writes.push({ batch: batch.map((c) => c.id), finish: (written) => (written instanceof Error ? reject(written) : resolve(written)) });
    });
  return { writes, append };
}

describe("chunk writer", () => {
  it("writes the first chunk at once and the ones that arrive meanwhile together, in order", async () => {
    const { writes, append } = manualAppend();
    const writer = createChunkWriter(append);
    writer.push(chunk("a"));
    writer.push(chunk("b"));
    writer.push(chunk("c"));
    expect(writes.map((write) => write.batch)).toEqual([["a"]]);
    writes[0].finish(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.map((write) => write.batch)).toEqual([["a"], ["b", "c"]]);
    const drained = writer.drain();
    writes[1].finish(true);
    expect(await drained).toBe(true);
  });

  it("turns lost when the log refuses a write, and stops writing", async () => {
    const { writes, append } = manualAppend();
    const writer = createChunkWriter(append);
    writer.push(chunk("a"));
    writer.push(chunk("b"));
    writes[0].finish(false);
    expect(await writer.drain()).toBe(false);
    expect(writer.lost).toBe(true);
    expect(writes).toHaveLength(1);
  });

  it("surfaces a Redis error on the next push or drain", async () => {
    const { writes, append } = manualAppend();
    const writer = createChunkWriter(append);
    writer.push(chunk("a"));
    writes[0].finish(new Error("Connection is closed."));
    await expect(writer.drain()).rejects.toThrow("Connection is closed.");
    expect(() => writer.push(chunk("b"))).toThrow("Connection is closed.");
  });

  it("finish hands back what was not written, after the write in flight, and writes nothing more", async () => {
    const { writes, append } = manualAppend();
    const writer = createChunkWriter(append);
    writer.push(chunk("a"));
    writer.push(chunk("b"));
    writer.push(chunk("c"));
    const finished = writer.finish();
    writes[0].finish(true);
    expect(await finished).toEqual([chunk("b"), chunk("c")]);
    expect(writes.map((write) => write.batch)).toEqual([["a"]]);
  });

  it("finish answers null when the log refused a write", async () => {
    const { writes, append } = manualAppend();
    const writer = createChunkWriter(append);
    writer.push(chunk("a"));
    writer.push(chunk("b"));
    const finished = writer.finish();
    writes[0].finish(false);
    expect(await finished).toBeNull();
  });

});
