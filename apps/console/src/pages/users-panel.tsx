import { useState } from "preact/hooks";
import { admin, ApiError } from "../api.js";
import { formatTime } from "../format.js";
import { useI18n } from "../i18n.js";
import type { Spending, User } from "../types.js";
import { BudgetCell } from "./budget-cell.js";
import { CreateUserForm } from "./create-user-form.js";
import { EditUserDialog } from "./edit-user-dialog.js";

/**
 * The users: a search box, a table with each user's token budgets and spending, a form that
 * creates one, an Edit action for the budgets, and a switch that turns one (and their keys) off or on.
 */
export function UsersPanel(props: { users: User[]; spending: Map<number, Spending>; error: string | null; onChanged: () => void }) {
  const { t, language } = useI18n();
  const [search, setSearch] = useState("");
  const [editing, setEditing] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const needle = search.trim().toLowerCase();
  const shown = props.users.filter((user) => !needle || `${user.username} ${user.email}`.toLowerCase().includes(needle));
  const spending = props.spending;

  /** A switched-off user's keys all answer 401 until the user is switched on again. */
  const setActive = async (user: User, active: boolean) => {
    setError(null);
    try {
      await admin<User>("PATCH", `/users/${user.id}`, { is_active: active });
      props.onChanged();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  return (
    <section class="card">
      <h2>{t("users.title")}</h2>
      <CreateUserForm onCreated={props.onChanged} />
      {(error ?? props.error) && <p role="alert" class="error">{error ?? props.error}</p>}
      <label class="search">
        <span class="sr-only">{t("common.search")}</span>
        <input type="search" placeholder={t("users.searchPlaceholder")} value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
      </label>
      <div class="table-wrap">
        <table data-testid="users-table">
          <thead>
            <tr>
              <th>ID</th>
              <th>{t("users.username")}</th>
              <th>{t("users.email")}</th>
              <th>{t("users.created")}</th>
              <th>{t("budget.column")}</th>
              <th>{t("users.active")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((user) => (
              <tr key={user.id} data-username={user.username}>
                <td>{user.id}</td>
                <td>{user.username}</td>
                <td>{user.email}</td>
                <td>{formatTime(user.created_at, language)}</td>
                <td class="budget" data-testid="user-budget">
                  <BudgetCell budgets={{ daily: user.token_budget_daily, monthly: user.token_budget_monthly }} spending={spending.get(user.id)} />
                </td>
                <td data-testid="user-status">
                  <span class={`status status-${user.is_active ? "succeeded" : "failed"}`}>
                    {user.is_active ? t("users.statusActive") : t("users.statusDisabled")}
                  </span>
                </td>
                <td>
                  <div class="row-actions">
                    <button type="button" onClick={() => setEditing(user)}>
                      {t("users.edit")}
                    </button>
                    <button type="button" onClick={() => setActive(user, !user.is_active)}>
                      {user.is_active ? t("users.disable") : t("users.enable")}
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <EditUserDialog
        user={editing}
        spending={editing ? spending.get(editing.id) : undefined}
        onSaved={() => {
          setEditing(null);
          props.onChanged();
        }}
        onClose={() => setEditing(null)}
      />
    </section>
  );
}
