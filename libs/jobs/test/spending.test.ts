import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { budgetPeriod, createBudgetAlertOutbox, createJobStore, createSpendingReader, newJobId, usageEntry, type OwnerBudgets } from "@llmgw/jobs";

const redisUrl = inject("redisUrl");
const command = new Redis(redisUrl);

afterAll(() => command.disconnect());

const result = { id: "chatcmpl-1", object: "chat.completion", created: 1, model: "m", choices: [] } as never;

function setup() {
  const prefix = `test-${randomUUID()}`;
  const store = createJobStore(command, { prefix, retentionSeconds: 3600 });
  return { prefix, store, reader: createSpendingReader(command, prefix), alerts: createBudgetAlertOutbox(command, prefix) };
}

/** Runs one job of `owner` to its end with `tokens` spent (half prompt, half completion); resolves to whether the end was written. */
async function finish(store: ReturnType<typeof setup>["store"], owner: { keyId: string; userId: string | null }, tokens: number, budgets?: OwnerBudgets) {
  const id = newJobId();
  await store.create({ id, model: "m", provider: "p", owner, mode: "async" });
  await store.start(id, 1);
  const usage = usageEntry(
    { jobId: id, requestId: "r", owner, model: "m", provider: "p", kind: "job" },
    { status: 200, usage: { prompt_tokens: tokens / 2, completion_tokens: tokens / 2 }, latencyMs: 5 },
  );
  const written = await store.complete(id, 1, result, usage, [], budgets);
  return { id, usage, written };
}

const budgets = (daily: number | null, monthly: number | null = null, user: [number | null, number | null] = [null, null]): OwnerBudgets => ({
  key: { daily, monthly },
  user: { daily: user[0], monthly: user[1] },
});

describe("token spending", () => {
  it("adds each finished request's tokens once to its key's and its user's day and month, never again on a second end", async () => {
    const { prefix, store, reader } = setup();
    const owner = { keyId: "7", userId: "3" };
    const { id, usage } = await finish(store, owner, 100);
    await finish(store, owner, 40);
    // A second end of the same job (another attempt's, a retry's) is refused, and adds nothing.
    expect(await store.complete(id, 1, result, usage)).toBeNull();
    const key = await reader.spending("key", "7", { daily: null, monthly: 1000 });
    const today = budgetPeriod("daily", Date.now());
    expect(key.daily).toEqual({ period: "daily", period_start: today.label, resets_at: today.endsAt / 1000, tokens: 140, budget: null });
    expect(key.monthly).toMatchObject({ period: "monthly", period_start: new Date().toISOString().slice(0, 7), tokens: 140, budget: 1000 });
    expect((await reader.spending("user", "3", { daily: null, monthly: null })).daily.tokens).toBe(140);
    // Another key of the same user adds to the user's counters only.
    await finish(store, { keyId: "8", userId: "3" }, 10);
    expect((await reader.spending("user", "3", { daily: null, monthly: null })).monthly.tokens).toBe(150);
    expect((await reader.spending("key", "7", { daily: null, monthly: null })).monthly.tokens).toBe(140);
    // Counters outlive their period a little, then Redis drops them.
    const dayCounter = `${prefix}:spend:key:7:${budgetPeriod("daily", Date.now()).label}`;
    const monthCounter = `${prefix}:spend:key:7:${budgetPeriod("monthly", Date.now()).label}`;
    expect(await command.ttl(dayCounter)).toBeGreaterThan(86_400);
    expect(await command.ttl(dayCounter)).toBeLessThanOrEqual(2 * 86_400);
    expect(await command.ttl(monthCounter)).toBeGreaterThan(31 * 86_400);
  });

  it("counts nothing for cache hits, failures and cancels", async () => {
    const { store, reader } = setup();
    const owner = { keyId: "9", userId: null };
    const id = newJobId();
    await store.create({ id, model: "m", provider: "p", owner, mode: "async" });
    const cacheHit = usageEntry(
      { jobId: id, requestId: "r", owner, model: "m", provider: "p", kind: "cache" },
      { status: 200, usage: { prompt_tokens: 50, completion_tokens: 50 }, latencyMs: 1, cacheHit: true },
    );
    await store.start(id, 1);
    await store.complete(id, 1, result, cacheHit);
    const failed = newJobId();
    await store.create({ id: failed, model: "m", provider: "p", owner, mode: "async" });
    await store.fail(failed, undefined, { status: 502, error: { message: "x", type: "upstream_error", param: null, code: "upstream_error" } });
    expect((await reader.spending("key", "9", { daily: null, monthly: null })).daily.tokens).toBe(0);
  });

  it("raises one alert at 80% and one at 100% of each budget and period, in the outbox, with the spending that crossed", async () => {
    const { store, reader, alerts } = setup();
    const owner = { keyId: "12", userId: "4" };
    const withBudgets = budgets(1000, null, [null, 5000]);
    await finish(store, owner, 700, withBudgets);
    expect(await alerts.take(60_000)).toEqual([]);
    await finish(store, owner, 200, withBudgets); // 900: past 80% of the key's day
    await finish(store, owner, 50, withBudgets); // 950: nothing new
    await finish(store, owner, 100, withBudgets); // 1050: past 100%
    await finish(store, owner, 300, withBudgets); // 1350: past 100% again, no second alert
    const day = budgetPeriod("daily", Date.now()).label;
    const taken = await alerts.take(60_000);
    expect(taken.map((alert) => [alert.id, alert.spent_tokens])).toEqual([
      [`budget_key_12_${day}_80`, 900],
      [`budget_key_12_${day}_100`, 1050],
    ]);
    expect(taken[0]).toEqual({
      id: `budget_key_12_${day}_80`,
      type: "budget.threshold_reached",
      scope: "key",
      key_id: 12,
      period: "daily",
      period_start: day,
      threshold_percent: 80,
      budget_tokens: 1000,
      spent_tokens: 900,
      created_at: expect.any(Number),
    });
    // The user's monthly budget of 5,000 is at 1,350: no alert for it yet.
    expect((await reader.spending("user", "4", { daily: null, monthly: 5000 })).monthly.tokens).toBe(1350);
    await finish(store, owner, 2700, withBudgets); // the user's month: 4,050, past 80%
    expect((await alerts.take(60_000)).map((alert) => [alert.scope, alert.user_id, alert.period, alert.threshold_percent])).toEqual([
      ["user", 4, "monthly", 80],
    ]);
  });

  it("one jump past both thresholds raises both alerts", async () => {
    const { store, alerts } = setup();
    await finish(store, { keyId: "5", userId: null }, 2000, budgets(1000));
    // Raised in the same millisecond: the outbox orders them by id then.
    expect((await alerts.take(60_000)).map((alert) => alert.threshold_percent).sort()).toEqual([100, 80]);
  });

  it("hands each due alert to one sender for a lease; it comes back unless removed", async () => {
    const { store, alerts } = setup();
    await finish(store, { keyId: "6", userId: null }, 900, budgets(1000));
    const now = Date.now();
    const [first] = await alerts.take(30_000, 20, now);
    expect(first.threshold_percent).toBe(80);
    // Another sender finds nothing while the lease runs, and the alert again after it.
    expect(await alerts.take(30_000, 20, now + 1000)).toEqual([]);
    expect((await alerts.take(30_000, 20, now + 31_000)).map((alert) => alert.id)).toEqual([first.id]);
    await alerts.remove(first.id);
    expect(await alerts.take(30_000, 20, now + 120_000)).toEqual([]);
  });

  it("says which budget is used up, the key's or the user's, and reads nothing for owners without budgets", async () => {
    const { store, reader } = setup();
    const owner = { keyId: "20", userId: "21" };
    await finish(store, owner, 500);
    expect(await reader.exhausted(owner, budgets(1000, null, [null, 2000]))).toBeNull();
    expect(await reader.exhausted(owner, budgets(null, null, [500, null]))).toMatchObject({ scope: "user", spending: { period: "daily", tokens: 500, budget: 500 } });
    expect(await reader.exhausted(owner, budgets(null, 400))).toMatchObject({ scope: "key", spending: { period: "monthly", tokens: 500, budget: 400 } });
    const before = (await command.info("commandstats")).match(/cmdstat_mget:calls=(\d+)/)?.[1] ?? "0";
    expect(await reader.exhausted(owner, budgets(null))).toBeNull();
    expect((await command.info("commandstats")).match(/cmdstat_mget:calls=(\d+)/)?.[1] ?? "0").toBe(before);
  });

  it("labels UTC days and months and knows when they end", () => {
    const at = Date.UTC(2026, 11, 31, 23, 59, 59);
    expect(budgetPeriod("daily", at)).toEqual({ label: "2026-12-31", endsAt: Date.UTC(2027, 0, 1) });
    expect(budgetPeriod("monthly", at)).toEqual({ label: "2026-12", endsAt: Date.UTC(2027, 0, 1) });
    expect(budgetPeriod("monthly", Date.UTC(2028, 1, 29, 12))).toEqual({ label: "2028-02", endsAt: Date.UTC(2028, 2, 1) });
  });
});
