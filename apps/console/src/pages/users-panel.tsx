import { useState } from "preact/hooks";
import { admin, ApiError } from "../api.js";
import { formatTime } from "../format.js";
import { useI18n } from "../i18n.js";
import type { User } from "../types.js";

/** The users: a search box, a table, a form that creates one, and a switch that turns one (and their keys) off or on. */
export function UsersPanel(props: { users: User[]; error: string | null; onChanged: () => void }) {
  const { t, language } = useI18n();
  const [search, setSearch] = useState("");
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | null>(null);
  const needle = search.trim().toLowerCase();
  const shown = props.users.filter((user) => !needle || `${user.username} ${user.email}`.toLowerCase().includes(needle));

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await admin("POST", "/users", { username, email });
      setUsername("");
      setEmail("");
      props.onChanged();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

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
      <form class="inline-form" onSubmit={create} aria-label={t("users.new")}>
        <label>
          {t("users.username")}
          <input name="username" required maxLength={64} value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          {t("users.email")}
          <input name="email" type="email" required value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="primary">
          {t("users.new")}
        </button>
      </form>
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
                <td data-testid="user-status">
                  <span class={`status status-${user.is_active ? "succeeded" : "failed"}`}>
                    {user.is_active ? t("users.statusActive") : t("users.statusDisabled")}
                  </span>
                </td>
                <td>
                  <button type="button" onClick={() => setActive(user, !user.is_active)}>
                    {user.is_active ? t("users.disable") : t("users.enable")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
