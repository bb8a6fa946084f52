import { useState } from "preact/hooks";
import { admin } from "../api.js";
import { usePolling } from "../components/use-polling.js";
import { useI18n } from "../i18n.js";
import type { List, User } from "../types.js";
import { KeysPanel } from "./keys-panel.js";
import { UsersPanel } from "./users-panel.js";

/** Users and their keys: list, search, create, switch off and on; keys are edited, and revoked with a confirmation. */
export function KeysPage() {
  const { t } = useI18n();
  const users = usePolling(() => admin<List<User>>("GET", "/users"), []);
  const [keysVersion, setKeysVersion] = useState(0);
  return (
    <section>
      <h1>{t("nav.keys")}</h1>
      <UsersPanel users={users.value?.data ?? []} error={users.error} onChanged={users.reload} />
      <KeysPanel users={users.value?.data ?? []} version={keysVersion} onChanged={() => setKeysVersion((n) => n + 1)} />
    </section>
  );
}
