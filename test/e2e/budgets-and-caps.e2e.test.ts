import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jobKeys, verifyWebhookSignature } from "@llmgw/jobs";
import { expectOpenAIShape } from "./support/openai-schemas.js";
import { startTwoApiInstances, type TwoApiInstances } from "./support/two-api-instances.js";

// Issue 15, token budgets and max_concurrent: two built API processes and a worker share one Redis
// and one SQLite file; clients on both use one key at once. Alerts go to a receiver of the test's own.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const WEBHOOK_SECRET = `whsec-${randomUUID()}`;
const prefix = `budgets-${randomUUID()}`;
/** Clients per API instance, each with one request in flight at a time. */
const LANES_PER_INSTANCE = 4;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let stack: TwoApiInstances;
let receiver: Server;
const alerts: Received[] = [];
let alertArrived: () => void = () => {};

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      alerts.push({ headers: request.headers, body });
      response.writeHead(204).end();
      alertArrived();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const alertUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
  stack = await startTwoApiInstances({
    prefix,
    adminToken: ADMIN_TOKEN,
    env: { CACHE_ENABLED: "false", RATE_LIMIT_ENABLED: "false", ALERT_WEBHOOK_URL: alertUrl, WEBHOOK_SECRET },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  receiver?.close();
});

async function admin(method: string, path: string, body?: unknown, instance = 0) {
  const response = await fetch(`${stack.instances[instance]}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function newUser(fields: Record<string, unknown> = {}) {
  const name = `user-${randomUUID()}`;
  const user = await admin("POST", "/users", { username: name, email: `${name}@example.com`, ...fields });
  expect(user.status).toBe(201);
  return user.body.id as number;
}

async function newKey(userId: number, fields: Record<string, unknown> = {}) {
  const key = await admin("POST", "/api-keys", { user_id: userId, key_name: "budgeted", ...fields });
  expect(key.status).toBe(201);
  return { id: key.body.id as number, apiKey: key.body.api_key as string };
}

/** One chat completion of about 25 tokens, answered after 150 ms (so lanes overlap upstream). */
async function ask(instance: number, apiKey: string) {
  const response = await fetch(`${stack.instances[instance]}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `spend [[mock:words=20,delay=150,id=${randomUUID()}]]` }] }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

function expectQuotaRefusal(answer: Awaited<ReturnType<typeof ask>>, whose: RegExp) {
  expect(answer.status).toBe(429);
  expect(answer.headers.get("x-should-retry")).toBe("false");
  expectOpenAIShape("ErrorResponse", answer.body, "the budget refusal");
  expect(answer.body.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota", param: null });
  expect(answer.body.error.message).toMatch(whose);
}

/** Resolves once `count` alerts have arrived. */
async function alertsArrived(count: number) {
  while (alerts.length < count) await new Promise<void>((resolve) => (alertArrived = resolve));
}

describe("token budgets across two API instances", () => {
  it("spends a key's daily budget from both instances at once: counted exactly once, refused with insufficient_quota, within the overshoot bound", async () => {
    const budget = 400;
    const { id, apiKey } = await newKey(await newUser(), { token_budget_daily: budget });
    const answered: number[] = [];
    const refusals: Awaited<ReturnType<typeof ask>>[] = [];
    // Each lane asks until refused: at most LANES_PER_INSTANCE x 2 requests are in flight when the budget runs out.
    const lane = async (instance: number) => {
      for (;;) {
        const answer = await ask(instance, apiKey);
        if (answer.status !== 200) return refusals.push(answer);
        answered.push(answer.body.usage.total_tokens);
      }
    };
    await Promise.all([0, 1].flatMap((instance) => Array.from({ length: LANES_PER_INSTANCE }, () => lane(instance))));

    for (const refusal of refusals) expectQuotaRefusal(refusal, /^This API key has used its daily token budget: \d+ of 400 tokens this day \(\d{4}-\d{2}-\d{2}, UTC\)\. It resets at \d{4}-\d{2}-\d{2}T00:00:00\.000Z/);
    expect(refusals).toHaveLength(LANES_PER_INSTANCE * 2);
    const spent = answered.reduce((sum, tokens) => sum + tokens, 0);
    const largest = Math.max(...answered);
    // Every answered request was counted once (the workers' counters equal the answers' own usage)…
    const key = await admin("GET", `/api-keys/${id}`, undefined, 1);
    expect(key.body.spending.daily).toMatchObject({ tokens: spent, budget });
    expect(key.body.spending.monthly).toMatchObject({ tokens: spent, budget: null });
    // …the budget was used up, and passed by no more than the requests in flight when it ran out.
    expect(spent).toBeGreaterThanOrEqual(budget);
    expect(spent).toBeLessThanOrEqual(budget - 1 + LANES_PER_INSTANCE * 2 * largest);
    // Asynchronous jobs are refused too, on either instance.
    const job = await fetch(`${stack.instances[1]}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ request: { model: "deepseek-chat", messages: [{ role: "user", content: "more" }] } }),
    });
    expect(job.status).toBe(429);
    expect(((await job.json()) as Record<string, any>).error.code).toBe("insufficient_quota");

    // One alert at 80% and one at 100%, signed like job webhooks, and none left to send.
    await alertsArrived(2);
    const outbox = jobKeys(prefix).budgetAlertOutbox;
    await vi.waitFor(async () => expect(await stack.redis.zcard(outbox)).toBe(0), { timeout: 10_000, interval: 100 });
    const mine = alerts.map((alert) => ({ alert, body: JSON.parse(alert.body) })).filter(({ body }) => body.key_id === id);
    expect(mine.map(({ body }) => body.threshold_percent).sort()).toEqual([100, 80]);
    for (const { alert, body } of mine) {
      expect(verifyWebhookSignature(WEBHOOK_SECRET, alert.headers, alert.body)).toBe(true);
      expect(alert.headers["webhook-id"]).toBe(body.id);
      expect(body).toMatchObject({ type: "budget.threshold_reached", scope: "key", period: "daily", budget_tokens: budget });
      expect(body.spent_tokens).toBeGreaterThanOrEqual((budget * body.threshold_percent) / 100);
    }

    // Raising the budget lets the key work again, on the other instance within 5 s (its key cache).
    expect((await admin("PATCH", `/api-keys/${id}`, { token_budget_daily: spent + 1000 })).status).toBe(200);
    await vi.waitFor(async () => expect((await ask(1, apiKey)).status).toBe(200), { timeout: 5000, interval: 100 });
  });

  it("holds a user's budget over all their keys, and names the user in the refusal", async () => {
    const userId = await newUser({ token_budget_daily: 60 });
    const [first, second] = [await newKey(userId), await newKey(userId)];
    let spent = 0;
    for (let turn = 0; ; turn++) {
      const answer = await ask(turn % 2, turn % 2 === 0 ? first.apiKey : second.apiKey);
      if (answer.status !== 200) {
        expectQuotaRefusal(answer, /^The user of this API key has used its daily token budget: \d+ of 60 tokens/);
        break;
      }
      spent += answer.body.usage.total_tokens;
    }
    expect(spent).toBeGreaterThanOrEqual(60);
    expectQuotaRefusal(await ask(1, first.apiKey), /^The user of this API key/);
    const user = await admin("GET", `/users/${userId}`);
    expect(user.body).toMatchObject({ id: userId, object: "user", token_budget_daily: 60, spending: { daily: { tokens: spent, budget: 60 } } });
    // Each key's own counter holds its part only.
    const parts = await Promise.all([first.id, second.id].map(async (id) => (await admin("GET", `/api-keys/${id}`)).body.spending.daily.tokens as number));
    expect(parts[0] + parts[1]).toBe(spent);
  });
});

describe("max_concurrent across two API instances", () => {
  it("lets at most max_concurrent of a key's requests reach the provider at once; the rest wait their turn and all answer", async () => {
    const { id, apiKey } = await newKey(await newUser(), { max_concurrent: 2 });
    const marker = `capped-${randomUUID()}`;
    const UPSTREAM_MS = 1000;
    const callsOfKey = () => stack.mock.calls.filter((call) => JSON.stringify(call.body).includes(marker));
    // Four requests of the key at once, from both instances, each answered after UPSTREAM_MS.
    const answers = Array.from({ length: 4 }, (_, index) =>
      fetch(`${stack.instances[index % 2]}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content: `${marker} ${index} [[mock:delay=${UPSTREAM_MS}]]` }] }),
      }),
    );
    // Two reach the provider; the other two wait in the key's line, not in a worker slot.
    const parked = jobKeys(prefix).parked(String(id));
    await vi.waitFor(
      async () => {
        expect(callsOfKey()).toHaveLength(2);
        expect(await stack.redis.zcard(parked)).toBe(2);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(await stack.redis.zcard(jobKeys(prefix).running(String(id)))).toBe(2);

    // Each answers, none refused; the waiting two reached the provider only once the first two were done.
    expect((await Promise.all(answers)).map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    const starts = callsOfKey().map((call) => call.startedAt);
    expect(starts).toHaveLength(4);
    expect(Math.min(starts[2], starts[3])).toBeGreaterThanOrEqual(Math.min(starts[0], starts[1]) + UPSTREAM_MS);
    expect(await stack.redis.zcard(parked)).toBe(0);
  });
});
