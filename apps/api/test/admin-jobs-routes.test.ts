import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./support/test-api.js";

// Issue 16: the console's jobs page lists every key's jobs, opens one with its events, and cancels it.
// No worker runs here, so a submitted job stays queued until cancelled.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const CLIENT_KEY = `gw-${randomUUID()}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
let api: TestApi;
let jobId: string;

beforeAll(async () => {
  api = await startTestApi({ ADMIN_TOKEN, USE_DATABASE_AUTH: "false", API_KEYS: CLIENT_KEY, DEEPSEEK_API_KEY: "sk-test" });
  const submitted = await api.app.inject({
    method: "POST",
    url: "/v1/jobs",
    headers: { authorization: `Bearer ${CLIENT_KEY}` },
    payload: { request: { model: "deepseek-chat", messages: [{ role: "user", content: "hi" }] } },
  });
  expect(submitted.statusCode).toBe(202);
  jobId = submitted.json().id;
});

afterAll(() => api?.close());

describe("admin jobs", () => {
  it("lists recent jobs of every key with owner, mode and timing", async () => {
    const response = await api.app.inject({ method: "GET", url: "/api/v1/admin/jobs", headers: admin });
    expect(response.statusCode).toBe(200);
    const [job] = response.json().data;
    expect(job).toMatchObject({ id: jobId, object: "job", status: "queued", model: "deepseek-chat", mode: "async", user_id: null, duration_ms: null });
    expect(job.key_id).toMatch(/^static-[0-9a-f]{16}$/);
    expect(job).not.toHaveProperty("result");
    const none = await api.app.inject({ method: "GET", url: "/api/v1/admin/jobs?status=succeeded", headers: admin });
    expect(none.json().data).toEqual([]);
  });

  it("opens one job with its events, cancels it once, and answers 409 the second time", async () => {
    const opened = await api.app.inject({ method: "GET", url: `/api/v1/admin/jobs/${jobId}`, headers: admin });
    expect(opened.json().events.map((event: { type: string }) => event.type)).toEqual(["job.queued"]);
    const cancelled = await api.app.inject({ method: "POST", url: `/api/v1/admin/jobs/${jobId}/cancel`, headers: admin });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id: jobId, status: "cancelled" });
    const again = await api.app.inject({ method: "POST", url: `/api/v1/admin/jobs/${jobId}/cancel`, headers: admin });
    expect(again.statusCode).toBe(409);
    const events = (await api.app.inject({ method: "GET", url: `/api/v1/admin/jobs/${jobId}`, headers: admin })).json().events;
    expect(events.map((event: { type: string }) => event.type)).toEqual(["job.queued", "job.cancelled"]);
  });

  it("answers 404 for an unknown job", async () => {
    const response = await api.app.inject({ method: "GET", url: "/api/v1/admin/jobs/job_nope", headers: admin });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe("job_not_found");
  });
});
