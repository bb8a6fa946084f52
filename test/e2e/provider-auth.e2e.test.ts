import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startMockUpstream, type MockUpstream } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// The providers refuse the gateway's own keys (the mock answers 401/403, quoting the key it was
// sent). Clients must see the gateway's fault (502 provider_auth_error), not a refusal of their
// own key, and operators one loud log line per provider per worker process.
let stack: MockedGateway;
let openaiMock: MockUpstream;
const OPENAI_KEY = `sk-openai-${randomUUID()}`;
const ACME_KEY = `sk-acme-${randomUUID()}`;
const folder = mkdtempSync(join(tmpdir(), "llmgw-provider-auth-"));

beforeAll(async () => {
  openaiMock = await startMockUpstream();
  // A third provider (PROVIDERS_FILE) on the same mock, whose refusal closes the log test.
  const providersFile = join(folder, "providers.json");
  writeFileSync(providersFile, JSON.stringify([{ name: "acme", base_url: openaiMock.url, api_key_env: "ACME_KEY", models: ["acme-1"] }]));
  stack = await startMockedGateway({
    env: {
      RATE_LIMIT_ENABLED: "false",
      CACHE_ENABLED: "false",
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: openaiMock.url,
      PROVIDERS_FILE: providersFile,
      ACME_KEY,
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await openaiMock?.close();
  rmSync(folder, { recursive: true, force: true });
});

const providerKeys = () => [stack.providerKey, OPENAI_KEY, ACME_KEY];

/** The error object a client gets when `provider` refused the gateway's key with `status`. */
const refusal = (provider: string, status: number) => ({
  message: `The provider "${provider}" refused the gateway's credentials (HTTP ${status}). This is not about your API key: the gateway's operator has to fix its key for "${provider}".`,
  type: "upstream_error",
  param: null,
  code: "provider_auth_error",
});

/** Upstream calls, on either mock, whose body holds `tag`. */
const callsWith = (tag: string) => [...stack.mock.calls, ...openaiMock.calls].filter((call) => JSON.stringify(call.body).includes(tag));

/** A chat completion the upstream refuses with `status`; the mock's error message quotes the key it was sent. */
const refused = (model: string, status: number, tag: string) => ({
  model,
  messages: [{ role: "user" as const, content: `${tag} [[mock:status=${status},error_body=echo_key]]` }],
});

describe("a provider refusing the gateway's own key", () => {
  it.each([
    ["JSON", false],
    ["stream", true],
  ])("answers its 401 as 502 provider_auth_error (%s), with x-should-retry: false and neither the key nor the upstream's text", async (_form, stream) => {
    const tag = randomUUID();
    const response = await stack.complete({ ...refused("deepseek-chat", 401, tag), stream });
    const text = await response.text();
    expect(response.status).toBe(502);
    expect(response.headers.get("x-should-retry")).toBe("false");
    expect(response.headers.get("x-job-id")).toMatch(/^job_/);
    expect(JSON.parse(text)).toEqual({ error: refusal("deepseek", 401) });
    // The attack was real: the upstream got the provider key and quoted it back, once (no retry).
    const calls = callsWith(tag);
    expect(calls).toHaveLength(1);
    expect(calls[0].headers.authorization).toBe(`Bearer ${stack.providerKey}`);
    for (const key of providerKeys()) expect(text).not.toContain(key);
    expect(text).not.toContain("Incorrect API key");
  });

  it("answers a 403 the same way, and the official SDK with its default retries does not call again", async () => {
    const tag = randomUUID();
    const sdk = new OpenAI({ apiKey: stack.clientKey, baseURL: `${stack.gateway.url}/v1` });
    const failure = await sdk.chat.completions.create(refused("gpt-4o", 403, tag)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ status: 502, code: "provider_auth_error", type: "upstream_error", error: refusal("openai", 403) });
    expect(callsWith(tag)).toHaveLength(1);
  });

  it("fails a job with the same error object", async () => {
    const tag = randomUUID();
    const headers = { authorization: `Bearer ${stack.clientKey}`, "content-type": "application/json" };
    const submitted = await fetch(`${stack.gateway.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ request: refused("deepseek-chat", 401, tag) }) });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const job = await vi.waitFor(
      async () => {
        const read = (await (await fetch(`${stack.gateway.url}/v1/jobs/${id}`, { headers })).json()) as { status: string; error: unknown };
        expect(read.status).toBe("failed");
        return read;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(job.error).toEqual(refusal("deepseek", 401));
    for (const key of providerKeys()) expect(JSON.stringify(job)).not.toContain(key);
  });

  it("is logged at error level once per provider per worker process, naming the provider and never the key", async () => {
    // In order: more DeepSeek and OpenAI refusals, then the first of a third provider. The worker
    // writes its log lines in order, so once the third provider's line is read, every line the
    // refusals before it could have caused has been read too.
    for (const [model, status] of [
      ["deepseek-chat", 401],
      ["deepseek-chat", 401],
      ["gpt-4o", 403],
      ["gpt-4o", 403],
      ["acme/acme-1", 401],
    ] as const) {
      expect((await stack.complete(refused(model, status, randomUUID()))).status).toBe(502);
    }
    const [worker] = stack.gateway.workers;
    await worker.waitForLine(/"provider":"acme".*refused the gateway's credentials/);
    const alarms = worker.lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: number; provider?: string; status?: number; msg: string })
      .filter((entry) => entry.msg.includes("refused the gateway's credentials"));
    expect(alarms.map(({ level, provider, status }) => ({ level, provider, status }))).toEqual([
      { level: 50, provider: "deepseek", status: 401 },
      { level: 50, provider: "openai", status: 403 },
      { level: 50, provider: "acme", status: 401 },
    ]);
    expect(alarms[0].msg).toMatch(/^provider "deepseek" refused the gateway's credentials \(HTTP 401\)/);
    for (const line of [...worker.lines, ...stack.gateway.api.lines]) {
      for (const key of providerKeys()) expect(line).not.toContain(key);
    }
  });
});
