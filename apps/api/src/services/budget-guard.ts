import { GatewayError } from "@llmgw/errors";
import type { ExhaustedBudget, SpendingReader } from "@llmgw/jobs";
import type { Principal } from "./client-auth.js";

/**
 * Refuses new work to a key whose key or user has used up a token budget (429 insufficient_quota,
 * `x-should-retry: false`: only the next period or an admin helps). Every API instance reads the
 * same Redis counters, which workers add to as requests end (libs/jobs spending.ts). A request
 * admitted before the budget ran out completes, so spending can pass a budget by what the
 * requests in flight at that moment spend (README, "Token budgets"). Keys without budgets cost
 * no Redis call here.
 */
export function createBudgetGuard(reader: SpendingReader) {
  return {
    async check(principal: Principal): Promise<void> {
      if (!principal.budgets) return;
      const exhausted = await reader.exhausted({ keyId: principal.keyId, userId: principal.userId }, principal.budgets);
      if (exhausted) throw budgetExhausted(exhausted);
    },
  };
}

export type BudgetGuard = ReturnType<typeof createBudgetGuard>;

function budgetExhausted({ scope, spending }: ExhaustedBudget): GatewayError {
  const whose = scope === "key" ? "This API key has" : "The user of this API key has";
  const period = spending.period === "daily" ? "day" : "month";
  return new GatewayError("insufficient_quota", {
    message:
      `${whose} used its ${spending.period} token budget: ${spending.tokens} of ${spending.budget} tokens this ${period} ` +
      `(${spending.period_start}, UTC). It resets at ${new Date(spending.resets_at * 1000).toISOString()}, or when an admin raises the budget.`,
    headers: { "x-should-retry": "false" },
  });
}
