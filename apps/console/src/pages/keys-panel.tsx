import { useState } from "preact/hooks";
import { admin, query } from "../api.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { usePolling } from "../components/use-polling.js";
import { formatTime } from "../format.js";
import { useI18n } from "../i18n.js";
import type { ApiKey, CreatedApiKey, List, Spending, User } from "../types.js";
import { BudgetCell } from "./budget-cell.js";
import { CreateKeyForm } from "./create-key-form.js";
import { EditKeyDialog } from "./edit-key-dialog.js";
import { NewKeyDialog } from "./new-key-dialog.js";
import { useSpending } from "./use-spending.js";

/** A budget of the period is spent (tokens ≥ budget). */
const usedUp = (spending: Spending | undefined) =>
  spending !== undefined && [spending.daily, spending.monthly].some((period) => period.budget !== null && period.tokens >= period.budget);

/**
 * The keys: search, filter revoked, create (shown once), edit, switch off and on, revoke with a
 * confirmation; each key's token budgets with today's and this month's spending.
 */
export function KeysPanel(props: {
  users: User[];
  /** The users' spending, for the status of a key whose user has used up a budget. */
  userSpending: Map<number, Spending>;
  version: number;
  onChanged: () => void;
  /** Refresh reads the users (and their spending) again too. */
  onRefresh: () => void;
}) {
  const { t, language } = useI18n();
  const [search, setSearch] = useState("");
  const [showRevoked, setShowRevoked] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const keys = usePolling(() => admin<List<ApiKey>>("GET", `/api-keys${query({ include_revoked: showRevoked ? "true" : undefined })}`), [showRevoked, props.version]);
  const owner = (id: number) => props.users.find((user) => user.id === id);
  const userName = (id: number) => owner(id)?.username ?? `#${id}`;
  const needle = search.trim().toLowerCase();
  const shown = (keys.value?.data ?? []).filter(
    (key) => !needle || `${key.key_name} ${key.key_prefix} ${userName(key.user_id)} ${(key.models ?? []).join(" ")}`.toLowerCase().includes(needle),
  );
  // Spending is read per key (GET /api-keys/{id}), so only for the keys that have a budget and are not revoked.
  const budgeted = (keys.value?.data ?? []).filter((key) => key.revoked_at === null && (key.token_budget_daily !== null || key.token_budget_monthly !== null));
  const spending = useSpending("api-keys", budgeted.map((key) => key.id), keys.value);
  const now = Date.now() / 1000;
  const status = (key: ApiKey): { text: string; tone: string } => {
    if (key.revoked_at !== null) return { text: t("keys.statusRevoked"), tone: "cancelled" };
    if (!key.is_active) return { text: t("keys.statusDisabled"), tone: "failed" };
    if (owner(key.user_id)?.is_active === false) return { text: t("keys.statusUserDisabled"), tone: "failed" };
    if (key.expires_at !== null && key.expires_at <= now) return { text: t("keys.statusExpired"), tone: "cancelled" };
    // The gateway refuses the key (429) once its own or its user's budget is used up.
    if (usedUp(spending.get(key.id))) return { text: t("keys.statusOverBudget"), tone: "failed" };
    if (usedUp(props.userSpending.get(key.user_id))) return { text: t("keys.statusUserOverBudget"), tone: "failed" };
    return { text: t("keys.statusActive"), tone: "succeeded" };
  };

  /** Switches a key off (it answers 401 on every API instance within seconds) or on again. */
  const setActive = async (key: ApiKey, active: boolean) => {
    setActionError(null);
    try {
      await admin<ApiKey>("PATCH", `/api-keys/${key.id}`, { is_active: active });
      props.onChanged();
    } catch (failure) {
      setActionError(failure instanceof Error ? failure.message : String(failure));
    }
  };

  const revoke = async () => {
    if (!revoking) return;
    await admin("DELETE", `/api-keys/${revoking.id}`);
    setRevoking(null);
    props.onChanged();
  };

  return (
    <section class="card">
      <h2>{t("keys.title")}</h2>
      <CreateKeyForm
        users={props.users}
        onCreated={(key) => {
          setCreated(key);
          props.onChanged();
        }}
      />
      <div class="filters">
        <label class="search">
          <span class="sr-only">{t("common.search")}</span>
          <input type="search" placeholder={t("keys.searchPlaceholder")} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
        <label class="checkbox">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked((e.target as HTMLInputElement).checked)} />
          {t("keys.showRevoked")}
        </label>
        <button
          type="button"
          onClick={() => {
            keys.reload();
            props.onRefresh();
          }}
        >
          {t("common.refresh")}
        </button>
      </div>
      {(actionError ?? keys.error) && <p role="alert" class="error">{actionError ?? keys.error}</p>}
      <div class="table-wrap">
        <table data-testid="keys-table">
          <thead>
            <tr>
              <th>ID</th>
              <th>{t("keys.name")}</th>
              <th>{t("keys.user")}</th>
              <th>{t("keys.limits")}</th>
              <th>{t("budget.column")}</th>
              <th>{t("keys.models")}</th>
              <th>{t("keys.allowedIps")}</th>
              <th>{t("keys.expires")}</th>
              <th>{t("keys.lastUsed")}</th>
              <th>{t("keys.status")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((key) => (
              <tr key={key.id} data-key-name={key.key_name}>
                <td>{key.id}</td>
                <td>
                  {key.key_name}
                  {/* The prefix under the name: a column of its own leaves the actions no room at 1280 px. */}
                  <code class="cell-note" title={t("keys.prefix")}>
                    {key.key_prefix}…
                  </code>
                </td>
                <td>{userName(key.user_id)}</td>
                <td>
                  {key.rate_limit_per_minute ?? t("keys.default")} / {key.rate_limit_per_hour ?? t("keys.default")}
                  {key.max_concurrent !== null && <span class="cell-note">{t("keys.atOnce", { count: key.max_concurrent })}</span>}
                </td>
                <td class="budget" data-testid="key-budget">
                  <BudgetCell budgets={{ daily: key.token_budget_daily, monthly: key.token_budget_monthly }} spending={spending.get(key.id)} />
                </td>
                <td class="wrap">{key.models?.join(", ") ?? t("common.all")}</td>
                <td class="wrap">{key.allowed_ips?.join(", ") ?? t("keys.anywhere")}</td>
                <td class="wrap">{key.expires_at === null ? t("common.never") : formatTime(key.expires_at, language)}</td>
                <td class="wrap">{formatTime(key.last_used_at, language)}</td>
                <td data-testid="key-status">
                  <span class={`status status-${status(key).tone}`}>{status(key).text}</span>
                </td>
                <td>
                  {key.revoked_at === null && (
                    <div class="row-actions">
                      <button type="button" onClick={() => setEditing(key)}>
                        {t("keys.edit")}
                      </button>
                      <button type="button" onClick={() => setActive(key, !key.is_active)}>
                        {key.is_active ? t("keys.disable") : t("keys.enable")}
                      </button>
                      <button type="button" class="danger" onClick={() => setRevoking(key)}>
                        {t("keys.revoke")}
                      </button>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <NewKeyDialog created={created} onClose={() => setCreated(null)} />
      <EditKeyDialog
        apiKey={editing}
        spending={editing ? spending.get(editing.id) : undefined}
        onSaved={() => {
          setEditing(null);
          props.onChanged();
        }}
        onClose={() => setEditing(null)}
      />
      <ConfirmDialog
        open={revoking !== null}
        title={t("keys.revokeTitle")}
        text={t("keys.revokeText", { name: revoking?.key_name ?? "" })}
        confirmLabel={t("keys.revoke")}
        cancelLabel={t("common.cancel")}
        onConfirm={revoke}
        onClose={() => setRevoking(null)}
      />
    </section>
  );
}
