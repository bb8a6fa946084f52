import type { Redis } from "ioredis";
import { jobKeys } from "./contract.js";
import type { JobOwner } from "./types.js";

/**
 * Token spending per key and per user, per UTC day and month, kept in Redis counters that every
 * API instance reads. The worker adds a finished request's prompt + completion tokens to its
 * key's and user's counters in the same Lua call that writes the job's end and its usage entry
 * (append-job-events.lua), so each request is counted exactly once, whatever retries, crashes
 * or instances come before. Cache hits and cancels spend nothing, as in the usage log.
 */

export type BudgetScope = "key" | "user";
export type BudgetPeriod = "daily" | "monthly";
export const budgetPeriodNames: readonly BudgetPeriod[] = ["daily", "monthly"];

/** Tokens per period; null = no budget. */
export interface Budgets {
  daily: number | null;
  monthly: number | null;
}

/** The budgets of a request's key and of its user, as the job carries them (for the alerts). */
export interface OwnerBudgets {
  key: Budgets;
  user: Budgets;
}

export const noBudgets: Budgets = { daily: null, monthly: null };
export const hasBudget = (budgets: Budgets) => budgets.daily !== null || budgets.monthly !== null;

/** The UTC period around `nowMs`: its label (`2026-11-29`, `2026-11`) and when the next one starts (unix ms). */
export function budgetPeriod(period: BudgetPeriod, nowMs: number): { label: string; endsAt: number } {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  if (period === "monthly") return { label: now.toISOString().slice(0, 7), endsAt: Date.UTC(year, month + 1, 1) };
  return { label: now.toISOString().slice(0, 10), endsAt: Date.UTC(year, month, now.getUTCDate() + 1) };
}

/** A counter outlives its period by a margin, so a read at the turn of the period still finds it; then Redis drops it. */
const counterTtlSeconds: Record<BudgetPeriod, number> = { daily: 2 * 86_400, monthly: 33 * 86_400 };

/** One counter the Lua adds to, and the alert it may raise (budget-alerts.ts delivers it). */
interface SpendCounter {
  key: string;
  ttl: number;
  /** 0 = no budget: counted, never alerted. */
  budget: number;
  alert: { scope: BudgetScope; key_id?: number | string; user_id?: number | string; period: BudgetPeriod; period_start: string };
}

/** The scopes of an owner: its key, and its user when it has one (static API_KEYS keys have none). */
function scopesOf(owner: JobOwner): [BudgetScope, string][] {
  return owner.userId ? [["key", owner.keyId], ["user", owner.userId]] : [["key", owner.keyId]];
}

/**
 * What append-job-events.lua adds when a request ends: `tokens` to each counter of the owner's key
 * and user for the current day and month. JSON text; "" when there is nothing to add.
 */
export function spendingSpec(prefix: string, owner: JobOwner, tokens: number, budgets: OwnerBudgets | undefined, nowMs = Date.now()): string {
  if (!(tokens > 0)) return "";
  const keys = jobKeys(prefix);
  const counters: SpendCounter[] = [];
  for (const [scope, id] of scopesOf(owner)) {
    for (const period of budgetPeriodNames) {
      const { label } = budgetPeriod(period, nowMs);
      counters.push({
        key: keys.spending(scope, id, label),
        ttl: counterTtlSeconds[period],
        budget: budgets?.[scope][period] ?? 0,
        // A database key's or user's id is a number in the admin API; a static key's stays text.
        alert: { scope, [scope === "key" ? "key_id" : "user_id"]: /^\d+$/.test(id) ? Number(id) : id, period, period_start: label },
      });
    }
  }
  return JSON.stringify({ tokens: Math.floor(tokens), counters });
}

/** Where one scope stands in one period. */
export interface PeriodSpending {
  period: BudgetPeriod;
  /** `2026-11-29` or `2026-11` (UTC). */
  period_start: string;
  /** Unix seconds at which the next period starts. */
  resets_at: number;
  tokens: number;
  budget: number | null;
}

/** A budget that is used up: whose (key or user) and in which period. */
export interface ExhaustedBudget {
  scope: BudgetScope;
  spending: PeriodSpending;
}

/** Reads the counters (the admin API's spending, the API's budget check). */
export function createSpendingReader(redis: Redis, prefix: string) {
  const keys = jobKeys(prefix);

  async function read(scopes: { scope: BudgetScope; id: string; budgets: Budgets }[], nowMs = Date.now()) {
    const wanted = scopes.flatMap(({ scope, id, budgets }) =>
      budgetPeriodNames.map((period) => {
        const { label, endsAt } = budgetPeriod(period, nowMs);
        return { scope, key: keys.spending(scope, id, label), label, endsAt, period, budget: budgets[period] };
      }),
    );
    const values = wanted.length > 0 ? await redis.mget(...wanted.map((entry) => entry.key)) : [];
    return wanted.map((entry, index) => ({
      scope: entry.scope,
      spending: {
        period: entry.period,
        period_start: entry.label,
        resets_at: Math.floor(entry.endsAt / 1000),
        tokens: Number(values[index] ?? 0),
        budget: entry.budget,
      } satisfies PeriodSpending,
    }));
  }

  return {
    /** One scope's spending in the current day and month. */
    async spending(scope: BudgetScope, id: string, budgets: Budgets, nowMs = Date.now()): Promise<Record<BudgetPeriod, PeriodSpending>> {
      const [daily, monthly] = await read([{ scope, id, budgets }], nowMs);
      return { daily: daily.spending, monthly: monthly.spending };
    },
    /**
     * The first of the owner's budgets already used up, or null. Only scopes with a budget are read:
     * a key without budgets costs no round trip.
     */
    async exhausted(owner: JobOwner, budgets: OwnerBudgets, nowMs = Date.now()): Promise<ExhaustedBudget | null> {
      const scopes = scopesOf(owner)
        .map(([scope, id]) => ({ scope, id, budgets: budgets[scope] }))
        .filter((entry) => hasBudget(entry.budgets));
      if (scopes.length === 0) return null;
      const standing = await read(scopes, nowMs);
      return standing.find(({ spending }) => spending.budget !== null && spending.tokens >= spending.budget) ?? null;
    },
  };
}

export type SpendingReader = ReturnType<typeof createSpendingReader>;
