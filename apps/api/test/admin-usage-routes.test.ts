import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./support/test-api.js";

// Issue 16: the console's usage table and charts read GET /api/v1/admin/usage and /usage/series.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const HOUR = 3600;
// 2026-01-02 00:00 UTC, and entries at 00:10, 00:20, 01:30 and 23:30 (the last one is 01:30 on the 3rd in UTC+2).
const DAY_START = Date.UTC(2026, 0, 2) / 1000;
let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ ADMIN_TOKEN });
  const entry = (minutes: number, keyId: string, model: string, status: number, cacheHit = false) =>
    api.context.usage.record({
      keyId,
      userId: "1",
      model,
      provider: "deepseek",
      promptTokens: 10,
      completionTokens: 5,
      status,
      cacheHit,
      requestId: randomUUID(),
      kind: "sync",
      createdAt: (DAY_START + minutes * 60) * 1000,
    });
  // Recorded out of time order (as several processes may): the newest first is by time, not by arrival.
  entry(23 * 60 + 30, "1", "deepseek-chat", 200);
  entry(10, "1", "deepseek-chat", 200);
  entry(90, "1", "deepseek-coder", 502);
  entry(20, "2", "deepseek-chat", 200, true);
});

afterAll(() => api?.close());

const get = async (url: string) => {
  const response = await api.app.inject({ method: "GET", url: `/api/v1/admin${url}`, headers: admin });
  expect(response.statusCode).toBe(200);
  return response.json().data as Record<string, unknown>[];
};

describe("GET /api/v1/admin/usage", () => {
  it("lists rows newest first, filtered by key, model and time", async () => {
    const all = await get("/usage");
    expect(all.map((row) => row.created_at)).toEqual([DAY_START + 1410 * 60, DAY_START + 90 * 60, DAY_START + 20 * 60, DAY_START + 10 * 60]);
    expect(all[0]).toMatchObject({ key_id: "1", user_id: "1", model: "deepseek-chat", prompt_tokens: 10, completion_tokens: 5, status: 200, cache_hit: false, kind: "sync" });
    expect((await get("/usage?key_id=2")).map((row) => row.key_id)).toEqual(["2"]);
    expect((await get("/usage?model=deepseek-coder")).map((row) => row.status)).toEqual([502]);
    expect(await get(`/usage?from=${DAY_START + 15 * 60}&to=${DAY_START + HOUR * 2}`)).toHaveLength(2);
    expect(await get("/usage?limit=1")).toHaveLength(1);
  });

  it("refuses an unknown filter with 400 naming it", async () => {
    const response = await api.app.inject({ method: "GET", url: "/api/v1/admin/usage?colour=red", headers: admin });
    expect(response.statusCode).toBe(400);
  });
});

describe("GET /api/v1/admin/usage/series", () => {
  it("counts requests, errors, cache hits and tokens per hour and model", async () => {
    expect(await get("/usage/series?bucket=hour&group_by=model")).toEqual([
      { bucket: DAY_START, group: "deepseek-chat", requests: 2, errors: 0, cache_hits: 1, prompt_tokens: 20, completion_tokens: 10 },
      { bucket: DAY_START + HOUR, group: "deepseek-coder", requests: 1, errors: 1, cache_hits: 0, prompt_tokens: 10, completion_tokens: 5 },
      { bucket: DAY_START + 23 * HOUR, group: "deepseek-chat", requests: 1, errors: 0, cache_hits: 0, prompt_tokens: 10, completion_tokens: 5 },
    ]);
  });

  it("groups by key, and starts days at the reader's midnight", async () => {
    expect((await get("/usage/series?bucket=day&group_by=key")).map((point) => [point.bucket, point.group, point.requests])).toEqual([
      [DAY_START, "1", 3],
      [DAY_START, "2", 1],
    ]);
    // In UTC+2 the 23:30 entry falls on the next day, which starts at 22:00 UTC.
    expect((await get("/usage/series?bucket=day&utc_offset_minutes=120")).map((point) => [point.bucket, point.requests])).toEqual([
      [DAY_START - 2 * HOUR, 3],
      [DAY_START + 22 * HOUR, 1],
    ]);
  });
});
