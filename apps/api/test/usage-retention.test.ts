import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { createLogger } from "@llmgw/logger";
import { createUsageRepository, openDatabase } from "@llmgw/store";
import { startUsageRetention } from "../src/services/usage-retention.js";

const DAY_MS = 86_400_000;

function usageLog() {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), "llmgw-usage-retention-")), "gateway.db"));
  const usage = createUsageRepository(db);
  const rowsByAge = (days: number[]) =>
    usage.recordAll(
      days.map((age, index) => ({
        jobId: null,
        requestId: `req_${index}`,
        keyId: "key_1",
        userId: null,
        model: "deepseek-chat",
        provider: "deepseek",
        promptTokens: 1,
        completionTokens: 1,
        latencyMs: 1,
        status: 200,
        cacheHit: false,
        kind: "sync",
        createdAt: Date.now() - age * DAY_MS,
      })),
    );
  return { usage, rowsByAge, count: async () => (await usage.stats()).requests };
}

describe("usage retention", () => {
  it("deletes the rows older than USAGE_RETENTION_DAYS at start, in batches, and keeps the rest", async () => {
    const { usage, rowsByAge, count } = usageLog();
    // More old rows than one batch deletes.
    await rowsByAge([...Array(12_000).fill(40), 29, 1, 0]);
    const retention = startUsageRetention({ usage, days: 30, logger: createLogger({ level: "silent" }) });
    await vi.waitFor(async () => expect(await count()).toBe(3), { timeout: 5000 });
    retention.stop();
  });

  it("keeps everything with 0 days", async () => {
    const { usage, rowsByAge, count } = usageLog();
    await rowsByAge([4000, 1]);
    // A prune's first batch runs as it starts: with 0 days none may start at all.
    const retention = startUsageRetention({ usage, days: 0, logger: createLogger({ level: "silent" }) });
    expect(await count()).toBe(2);
    retention.stop();
  });
});
