import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_A, ask, auth, startJobsApi, type JobsTestApi } from "./support/jobs-test-api.js";

const ADMIN_TOKEN = `admin-${randomUUID()}`;
let api: JobsTestApi;

beforeAll(async () => {
  api = await startJobsApi({ ADMIN_TOKEN });
});

afterAll(async () => {
  await api?.close();
});

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const jsonTypes = ["application/json", "application/json; charset=utf-8"];

async function newKeyId(): Promise<number> {
  const username = `u-${randomUUID()}`;
  const user = await api.app.inject({ method: "POST", url: "/api/v1/admin/users", headers: admin, payload: { username, email: "u@example.com" } });
  const key = await api.app.inject({ method: "POST", url: "/api/v1/admin/api-keys", headers: admin, payload: { user_id: user.json().id, key_name: "k" } });
  return key.json().id;
}

async function newJobId(): Promise<string> {
  const response = await api.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(KEY_A), payload: { request: ask("bodiless") } });
  expect(response.statusCode).toBe(202);
  return response.json().id;
}

describe("bodiless requests with a JSON content type and no body", () => {
  it.each(jsonTypes)("DELETE /api/v1/admin/api-keys/:id with %s answers 200", async (contentType) => {
    const id = await newKeyId();
    const response = await api.app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${id}`, headers: { ...admin, "content-type": contentType } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ id, object: "api_key", deleted: true });
  });

  it("DELETE without a content type answers 200 as before", async () => {
    const id = await newKeyId();
    const response = await api.app.inject({ method: "DELETE", url: `/api/v1/admin/api-keys/${id}`, headers: admin });
    expect(response.json()).toEqual({ id, object: "api_key", deleted: true });
  });

  it.each(jsonTypes)("GET routes with %s answer 200", async (contentType) => {
    const users = await api.app.inject({ method: "GET", url: "/api/v1/admin/users", headers: { ...admin, "content-type": contentType } });
    expect(users.statusCode).toBe(200);
    const stats = await api.app.inject({ method: "GET", url: "/api/v1/admin/stats", headers: { ...admin, "content-type": contentType } });
    expect(stats.statusCode).toBe(200);
    const id = await newJobId();
    const job = await api.app.inject({ method: "GET", url: `/api/v1/jobs/${id}`, headers: { ...auth(KEY_A), "content-type": contentType } });
    expect(job.statusCode).toBe(200);
    expect(job.json()).toMatchObject({ id, status: "queued" });
  });

  it.each(jsonTypes)("POST /v1/jobs/:id/cancel with %s answers 200 with the cancelled job", async (contentType) => {
    for (const prefix of ["/v1", "/api/v1"]) {
      const id = await newJobId();
      const response = await api.app.inject({ method: "POST", url: `${prefix}/jobs/${id}/cancel`, headers: { ...auth(KEY_A), "content-type": contentType } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id, status: "cancelled" });
    }
  });
});

describe("a body that is there, or that is needed", () => {
  const emptyBody = {
    error: { message: "The request body is empty; send a JSON object.", type: "invalid_request_error", param: null, code: "invalid_json" },
  };

  it.each([
    ["/api/v1/admin/users", admin],
    ["/api/v1/admin/api-keys", admin],
    ["/v1/jobs", auth(KEY_A)],
  ])("POST %s with a JSON content type and an empty body answers 400 saying it is empty", async (url, headers) => {
    const response = await api.app.inject({ method: "POST", url, headers: { ...headers, "content-type": "application/json" } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(emptyBody);
  });

  it("a bodiless route still reads a body that is sent: broken JSON answers 400 invalid_json", async () => {
    const id = await newKeyId();
    const response = await api.app.inject({
      method: "DELETE",
      url: `/api/v1/admin/api-keys/${id}`,
      headers: { ...admin, "content-type": "application/json" },
      payload: "{",
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "invalid_json", message: "The request body is not valid JSON." });
    // Not revoked by a request that was refused.
    const list = await api.app.inject({ method: "GET", url: "/api/v1/admin/api-keys", headers: admin });
    expect(list.json().data.map((key: { id: number }) => key.id)).toContain(id);
  });
});
