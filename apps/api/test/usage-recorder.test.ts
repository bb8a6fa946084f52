import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "@llmgw/logger";
import type { UsageEntry } from "@llmgw/jobs";
import { createUsageRepository, openDatabase } from "@llmgw/store";
import { createUsageRecorder } from "../src/services/usage-recorder.js";

const entry = (requestId: string): UsageEntry => ({
  jobId: null,
  requestId,
  keyId: "key_1",
  userId: null,
  model: "deepseek-chat",
  provider: "deepseek",
  promptTokens: 3,
  completionTokens: 4,
  latencyMs: 1,
  status: 200,
  cacheHit: true,
  kind: "cache",
  createdAt: Date.now(),
});

function recorder() {
  const usage = createUsageRepository(openDatabase(join(mkdtempSync(join(tmpdir(), "llmgw-usage-recorder-")), "gateway.db")));
  const recorded: string[] = [];
  const writer = createUsageRecorder({ usage, logger: createLogger({ level: "silent" }), gatherMs: 100, onRecorded: (e) => recorded.push(e.requestId) });
  return { usage, recorded, writer };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("usage recorder", () => {
  it("writes the entries that gathered for gatherMs together, each once", async () => {
    vi.useFakeTimers();
    const { usage, recorded, writer } = recorder();
    writer.record(entry("req_a"));
    writer.record(entry("req_b"));
    expect((await usage.stats()).requests).toBe(0);
    await vi.advanceTimersByTimeAsync(99);
    expect((await usage.stats()).requests).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await usage.stats()).toMatchObject({ requests: 2, cache_hits: 2, tokens: { prompt: 6, completion: 8 } });
    expect(recorded).toEqual(["req_a", "req_b"]);
    writer.record(entry("req_c"));
    await vi.advanceTimersByTimeAsync(100);
    expect((await usage.stats()).requests).toBe(3);
  });

  it("flush writes what is queued at once and leaves nothing for the timer", async () => {
    vi.useFakeTimers();
    const { usage, recorded, writer } = recorder();
    writer.record(entry("req_a"));
    await writer.flush();
    expect((await usage.stats()).requests).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(recorded).toEqual(["req_a"]);
  });
});
