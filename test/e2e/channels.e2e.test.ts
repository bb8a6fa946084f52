import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { inject } from "vitest";
import { verifyWebhookSignature } from "@llmgw/jobs";
import { startGateway, startMockUpstream, type GatewayStack, type MockUpstream } from "@llmgw/testing";

// Several mock providers at once, each its own channel and key, behind real API and worker
// processes: weights, failover, cooldown, priorities, disabled keys, and no client error while
// one channel is healthy.
const folder = mkdtempSync(join(tmpdir(), "llmgw-channels-"));
const clientKey = `gw-e2e${randomUUID().replace(/-/g, "")}`;
const adminToken = `admin-${randomUUID()}`;
const webhookSecret = `whsec-${randomUUID()}`;

afterAll(() => rmSync(folder, { recursive: true, force: true }));

function startStack(providers: unknown[], env: Record<string, string>): Promise<GatewayStack> {
  const file = join(folder, `providers-${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(providers));
  return startGateway({
    workers: 1,
    env: {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: `e2e-${randomUUID()}`,
      USE_DATABASE_AUTH: "false",
      API_KEYS: clientKey,
      ADMIN_TOKEN: adminToken,
      RATE_LIMIT_ENABLED: "false",
      CACHE_ENABLED: "false",
      PROVIDERS_FILE: file,
      ...env,
    },
  });
}

async function ask(stack: GatewayStack, model: string, stream = false): Promise<number> {
  const response = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: `hello ${randomUUID()}` }] }),
  });
  await response.text();
  return response.status;
}

/** `count` requests, `parallel` at a time; every status. */
async function askMany(stack: GatewayStack, model: string, count: number, parallel = 8): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        statuses.push(await ask(stack, model, next % 2 === 0));
      }
    }),
  );
  return statuses;
}

async function channels(stack: GatewayStack): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${stack.url}/api/v1/admin/channels`, { headers: { authorization: `Bearer ${adminToken}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Array<Record<string, unknown>> }).data;
}

const completionCalls = (mock: MockUpstream) => mock.calls.filter((call) => call.path === "/v1/chat/completions").length;

describe("a pool of three channels with weights 2:1:1", () => {
  let stack: GatewayStack;
  const mocks: MockUpstream[] = [];
  const keys = [1, 2, 3].map((n) => `sk-pool${n}-${randomUUID()}`);
  let hooks: Server;
  const alerts: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) mocks.push(await startMockUpstream());
    hooks = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        alerts.push({ headers: request.headers, body });
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", resolve));
    stack = await startStack(
      mocks.map((mock, i) => ({ name: "pool", base_url: mock.url, api_key_env: `POOL_KEY_${i}`, models: ["pool-model"], weight: i === 0 ? 2 : 1 })),
      {
        POOL_KEY_0: keys[0],
        POOL_KEY_1: keys[1],
        POOL_KEY_2: keys[2],
        CHANNEL_FAILURES_TO_COOL: "2",
        CHANNEL_COOLDOWN_MS: "1500",
        ALERT_WEBHOOK_URL: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/alerts`,
        WEBHOOK_SECRET: webhookSecret,
      },
    );
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all(mocks.map((mock) => mock.close()));
    hooks?.close();
  });
  const reset = () => mocks.forEach((mock) => mock.reset());

  it("lists the model once and the channels with masked keys", async () => {
    const models = (await (await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${clientKey}` } })).json()) as {
      data: Array<{ id: string }>;
    };
    expect(models.data.filter((model) => model.id === "pool-model")).toHaveLength(1);
    const listed = await channels(stack);
    expect(listed.map((channel) => [channel.id, channel.weight, channel.state])).toEqual([
      ["pool-1", 2, "healthy"],
      ["pool-2", 1, "healthy"],
      ["pool-3", 1, "healthy"],
    ]);
    expect(listed[0].key_hint).toBe(`sk-...${keys[0].slice(-4)}`);
    for (const key of keys) expect(JSON.stringify(listed)).not.toContain(key);
  });

  it("spreads traffic by weight", async () => {
    reset();
    const statuses = await askMany(stack, "pool-model", 200);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const counts = mocks.map(completionCalls);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Math.abs(counts[0] - 100)).toBeLessThanOrEqual(8);
    expect(Math.abs(counts[1] - 50)).toBeLessThanOrEqual(8);
    expect(Math.abs(counts[2] - 50)).toBeLessThanOrEqual(8);
    // Each key went to its own channel.
    mocks.forEach((mock, i) => expect(mock.calls.every((call) => call.headers.authorization === `Bearer ${keys[i]}`)).toBe(true));
    // The usage log names the channel of each request: the admin series by channel adds up to the calls each received.
    await vi.waitFor(
      async () => {
        const response = await fetch(`${stack.url}/api/v1/admin/usage/series?bucket=day&group_by=channel`, { headers: { authorization: `Bearer ${adminToken}` } });
        const points = ((await response.json()) as { data: Array<{ group: string; requests: number }> }).data;
        expect(Object.fromEntries(points.map((point) => [point.group, point.requests]))).toEqual({ "pool-1": counts[0], "pool-2": counts[1], "pool-3": counts[2] });
      },
      { timeout: 5000, interval: 100 },
    );
  });

  it("takes traffic off a channel answering 500 within a few requests, and gives it back after its cooldown", async () => {
    reset();
    mocks[1].failAll({ status: 500 });
    const statuses = await askMany(stack, "pool-model", 40, 4);
    expect(statuses.every((status) => status === 200)).toBe(true);
    // Two failures cool it down; a probe per cooldown at most after that.
    expect(completionCalls(mocks[1])).toBeLessThanOrEqual(5);
    expect(completionCalls(mocks[0]) + completionCalls(mocks[2])).toBeGreaterThanOrEqual(40);

    mocks[1].failAll(null);
    await vi.waitFor(async () => expect((await channels(stack))[1].state).toBe("healthy"), { timeout: 5000, interval: 100 });
    reset();
    await vi.waitFor(
      async () => {
        expect(await askMany(stack, "pool-model", 8, 4)).toEqual(Array(8).fill(200));
        expect(completionCalls(mocks[1])).toBeGreaterThanOrEqual(2);
      },
      { timeout: 5000, interval: 50 },
    );
  });

  it("disables a channel whose key is refused, keeps answering on the others, and alerts once, signed", async () => {
    reset();
    mocks[2].failAll({ status: 401, code: "invalid_api_key" });
    const statuses = await askMany(stack, "pool-model", 30, 4);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(completionCalls(mocks[2])).toBe(1);
    const disabled = (await channels(stack))[2];
    expect(disabled).toMatchObject({ id: "pool-3", state: "disabled", disabled_reason: "key_refused" });

    await vi.waitFor(() => expect(alerts).toHaveLength(1));
    const alert = alerts[0];
    expect(JSON.parse(alert.body)).toMatchObject({ type: "channel.disabled", channel: "pool-3", provider: "pool", reason: "key_refused" });
    expect(verifyWebhookSignature(webhookSecret, alert.headers, alert.body)).toBe(true);
    const worker = stack.workers[0];
    const disabledLines = worker.lines.filter((line) => line.includes("is disabled: its key was refused"));
    expect(disabledLines).toHaveLength(1);
    expect(JSON.parse(disabledLines[0])).toMatchObject({ level: 50, channel: "pool-3", provider: "pool", reason: "key_refused" });
    for (const key of keys) expect(worker.lines.join("\n") + stack.api.lines.join("\n")).not.toContain(key);

    // Back after an admin's enable.
    mocks[2].failAll(null);
    const enabled = await fetch(`${stack.url}/api/v1/admin/channels/pool-3/enable`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
    expect(enabled.status).toBe(200);
    expect(await enabled.json()).toMatchObject({ id: "pool-3", state: "healthy", disabled_reason: null });
    await vi.waitFor(
      async () => {
        await askMany(stack, "pool-model", 8, 4);
        expect(completionCalls(mocks[2])).toBeGreaterThanOrEqual(2);
      },
      { timeout: 5000, interval: 50 },
    );
    const unknown = await fetch(`${stack.url}/api/v1/admin/channels/nope/disable`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("passes a request's own 400 through without failing over", async () => {
    reset();
    mocks.forEach((mock) => mock.failAll({ status: 400, code: "bad_request" }));
    try {
      expect(await ask(stack, "pool-model")).toBe(400);
      expect(mocks.map(completionCalls).reduce((a, b) => a + b, 0)).toBe(1);
      expect((await channels(stack)).map((channel) => channel.state)).toEqual(["healthy", "healthy", "healthy"]);
    } finally {
      mocks.forEach((mock) => mock.failAll(null));
    }
  });
});

describe("priorities and several DeepSeek keys", () => {
  let stack: GatewayStack;
  let main: MockUpstream;
  let backup: MockUpstream;
  let deepseek: MockUpstream;

  beforeAll(async () => {
    [main, backup, deepseek] = await Promise.all([startMockUpstream(), startMockUpstream(), startMockUpstream()]);
    stack = await startStack(
      [
        { name: "main", base_url: main.url, api_key_env: "MAIN_KEY", models: ["tiered"], priority: 1 },
        { name: "backup", base_url: backup.url, api_key_env: "BACKUP_KEY", model_map: { tiered: "tiered-v2" } },
      ],
      { MAIN_KEY: "main-key", BACKUP_KEY: "backup-key", DEEPSEEK_API_KEY: "k1,k2", DEEPSEEK_BASE_URL: deepseek.url },
    );
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([main, backup, deepseek].map((mock) => mock?.close()));
  });

  it("uses both keys of DEEPSEEK_API_KEY=k1,k2", async () => {
    expect(await askMany(stack, "deepseek-chat", 10, 2)).toEqual(Array(10).fill(200));
    const authorizations = deepseek.calls.map((call) => call.headers.authorization);
    expect(authorizations.filter((value) => value === "Bearer k1")).toHaveLength(5);
    expect(authorizations.filter((value) => value === "Bearer k2")).toHaveLength(5);
  });

  it("sends traffic to the priority-0 backup while the priority-1 channel answers 429, and back after", async () => {
    expect(await askMany(stack, "tiered", 4, 2)).toEqual(Array(4).fill(200));
    expect(completionCalls(main)).toBe(4);
    expect(completionCalls(backup)).toBe(0);

    main.failAll({ status: 429, retryAfterSeconds: 1 });
    expect(await askMany(stack, "tiered", 10, 2)).toEqual(Array(10).fill(200));
    expect(completionCalls(backup)).toBeGreaterThanOrEqual(9);
    expect(backup.calls.every((call) => (call.body as { model: string }).model === "tiered-v2")).toBe(true);
    expect(completionCalls(main)).toBeLessThanOrEqual(4 + 2);

    main.failAll(null);
    main.reset();
    await vi.waitFor(
      async () => {
        expect(await ask(stack, "tiered")).toBe(200);
        expect(completionCalls(main)).toBeGreaterThanOrEqual(1);
      },
      { timeout: 5000, interval: 100 },
    );
    backup.reset();
    expect(await askMany(stack, "tiered", 4, 2)).toEqual(Array(4).fill(200));
    expect(completionCalls(backup)).toBe(0);
  });
});
