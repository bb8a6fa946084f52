import type { Redis } from "ioredis";
import { jobKeys } from "./contract.js";
import { jobScripts } from "./scripts.js";
import type { BudgetPeriod, BudgetScope } from "./spending.js";

/**
 * What ALERT_WEBHOOK_URL receives when a key's or user's spending reaches 80% or 100% of a budget:
 * one per threshold and period (append-job-events.lua raises it with the spending that crossed).
 */
export interface BudgetAlert {
  /** `budget_key_12_2026-11-29_80`: the same across retries (the `webhook-id` header). */
  id: string;
  type: "budget.threshold_reached";
  scope: BudgetScope;
  /** The key's id (scope `key`) or the user's (scope `user`). */
  key_id?: number | string;
  user_id?: number | string;
  period: BudgetPeriod;
  /** `2026-11-29` (daily) or `2026-11` (monthly), UTC. */
  period_start: string;
  threshold_percent: 80 | 100;
  budget_tokens: number;
  /** The spending that crossed the threshold, this request included. */
  spent_tokens: number;
  /** Unix seconds. */
  created_at: number;
}

/**
 * The outbox of budget alerts: written by the Lua call that crossed the threshold, so an alert
 * is raised exactly once; workers take due alerts for a lease, and remove them once delivered.
 */
export function createBudgetAlertOutbox(connection: Redis, prefix: string) {
  const scripts = jobScripts(connection);
  const keys = jobKeys(prefix);
  return {
    /** Up to `limit` due alerts, each held for `leaseMs` (then due again unless removed). */
    async take(leaseMs: number, limit = 20, nowMs = Date.now()): Promise<BudgetAlert[]> {
      const flat = await scripts.llmgwTakeBudgetAlerts(keys.budgetAlertOutbox, keys.budgetAlerts, nowMs, leaseMs, limit);
      const alerts: BudgetAlert[] = [];
      for (let index = 0; index < flat.length; index += 2) alerts.push(JSON.parse(flat[index + 1]) as BudgetAlert);
      return alerts;
    },
    /** Removes a delivered (or given up) alert. */
    async remove(id: string): Promise<void> {
      await connection.multi().hdel(keys.budgetAlerts, id).zrem(keys.budgetAlertOutbox, id).exec();
    },
  };
}

export type BudgetAlertOutbox = ReturnType<typeof createBudgetAlertOutbox>;
