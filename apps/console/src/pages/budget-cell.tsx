import { formatNumber, formatPercent, formatShortTime } from "../format.js";
import { useI18n } from "../i18n.js";
import type { PeriodSpending, Spending } from "../types.js";

type Period = "daily" | "monthly";

/** Where spending reaches a warning (the budget alerts fire at 80% too). */
const WARN_RATIO = 0.8;

/**
 * A key's or user's token budgets in a table cell: per period with a budget, "812 / 1,000 today"
 * with a bar and the share used, marked "used up" (with when it resets) once spent; the other
 * period's spending as a plain figure. Without spending read (yet), the budgets alone.
 */
export function BudgetCell(props: { budgets: Record<Period, number | null>; spending: Spending | undefined }) {
  const { t } = useI18n();
  if (props.budgets.daily === null && props.budgets.monthly === null) return <span class="hint">{t("budget.noBudget")}</span>;
  return (
    <div class="budgets">
      {(["daily", "monthly"] as const).map((period) => (
        <PeriodBudget key={period} period={period} budget={props.budgets[period]} spending={props.spending?.[period]} />
      ))}
    </div>
  );
}

function PeriodBudget(props: { period: Period; budget: number | null; spending: PeriodSpending | undefined }) {
  const { t, language } = useI18n();
  const { period, budget, spending } = props;
  const number = (value: number) => formatNumber(value, language);
  if (budget === null) {
    if (!spending || spending.tokens === 0) return null;
    return <span class="hint">{t(period === "daily" ? "budget.spentToday" : "budget.spentThisMonth", { used: number(spending.tokens) })}</span>;
  }
  if (!spending) return <span>{t(period === "daily" ? "budget.perDay" : "budget.perMonth", { budget: number(budget) })}</span>;
  const ratio = spending.tokens / budget;
  const usedUp = spending.tokens >= budget;
  const text = t(period === "daily" ? "budget.today" : "budget.thisMonth", { used: number(spending.tokens), budget: number(budget) });
  const tone = usedUp ? "full" : ratio >= WARN_RATIO ? "warn" : "ok";
  return (
    <div class={`meter meter-${tone}`} data-testid={`budget-${period}`}>
      <span>{text}</span>
      <span class="meter-line">
        <span class="meter-bar" role="meter" aria-label={text} aria-valuemin={0} aria-valuemax={budget} aria-valuenow={Math.min(spending.tokens, budget)}>
          <span style={{ width: `${Math.min(100, ratio * 100)}%` }} />
        </span>
        {usedUp ? <span class="status status-failed">{t("budget.usedUp")}</span> : <span class="hint">{formatPercent(ratio, language)}</span>}
      </span>
      {usedUp && <span class="hint">{t("budget.resets", { time: formatShortTime(spending.resets_at, language) })}</span>}
    </div>
  );
}

/** A budget form's hint, with what was spent today and this month once that has been read. */
export function BudgetHint(props: { hint: string; spending: Spending | undefined }) {
  const { t, language } = useI18n();
  const spent = props.spending;
  return (
    <span class="hint">
      {props.hint}
      {spent && ` · ${t("budget.usedSoFar", { today: formatNumber(spent.daily.tokens, language), month: formatNumber(spent.monthly.tokens, language) })}`}
    </span>
  );
}
