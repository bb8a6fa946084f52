import { useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { useI18n } from "../i18n.js";

/** The token goes in the request body once; the page keeps nothing (the session is an HttpOnly cookie). */
export function SignInPage(props: { onSignedIn: () => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/console/api/session", { token });
      setToken("");
      props.onSignedIn();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card sign-in">
      <h1>{t("signIn.title")}</h1>
      <form onSubmit={submit}>
        <label>
          {t("signIn.token")}
          <input
            type="password"
            name="token"
            autocomplete="current-password"
            required
            value={token}
            onInput={(event) => setToken((event.target as HTMLInputElement).value)}
            autofocus
          />
        </label>
        <p class="hint">{t("signIn.hint")}</p>
        {error && (
          <p role="alert" class="error">
            {t("signIn.failed")}: {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {t("signIn.submit")}
        </button>
      </form>
    </section>
  );
}
