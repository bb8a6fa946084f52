import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { usePolling } from "../components/use-polling.js";
import { useI18n } from "../i18n.js";
import type { List, User } from "../types.js";
import { KeysPanel } from "./keys-panel.js";
import { UsersPanel } from "./users-panel.js";
import { useSpending } from "./use-spending.js";

/**
 * Users and their keys: list, search, create, switch off and on, budgets with their spending; keys
 * are edited, and revoked with a confirmation.
 */
export function KeysPage() {
  const { t } = useI18n();
  const users = usePolling(() => admin<List<User>>("GET", "/users"), []);
  const [keysVersion, setKeysVersion] = useState(0);
  const list = users.value?.data ?? [];
  // Read here, not in the users panel: a key of a user whose budget is used up is refused too, and its row says so.
  const budgeted = list.filter((user) => user.token_budget_daily !== null || user.token_budget_monthly !== null);
  const userSpending = useSpending("users", budgeted.map((user) => user.id), users.value);
  return (
    <section>
      <h1>{t("nav.keys")}</h1>
      <UsersPanel users={list} spending={userSpending} error={users.error} onChanged={users.reload} />
      <KeysPanel
        users={list}
        userSpending={userSpending}
        version={keysVersion}
        onChanged={() => setKeysVersion((n) => n + 1)}
        onRefresh={users.reload}
      />
    </section>
  );
}
