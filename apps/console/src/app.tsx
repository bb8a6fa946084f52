import { useEffect, useState } from "preact/hooks";
import { api, SESSION_ENDED_EVENT } from "./api.js";
import { setLanguage, useI18n } from "./i18n.js";
import type { Language } from "./messages.js";
import { JobsPage } from "./pages/jobs-page.js";
import { KeysPage } from "./pages/keys-page.js";
import { OverviewPage } from "./pages/overview-page.js";
import { SignInPage } from "./pages/sign-in-page.js";
import { UsagePage } from "./pages/usage-page.js";
import { navigate, PAGES, usePage, type Page } from "./router.js";

interface Session {
  signed_in: boolean;
}

/** The shell: header with navigation, language and sign-out; the page in the address bar below. */
export function App() {
  const page = usePage();
  const { t, language } = useI18n();
  const [signedIn, setSignedIn] = useState<boolean | null>(null);

  useEffect(() => {
    void api<Session>("GET", "/console/api/session").then(
      (session) => setSignedIn(session.signed_in),
      () => setSignedIn(false),
    );
  }, [page]);

  useEffect(() => {
    const ended = () => setSignedIn(false);
    addEventListener(SESSION_ENDED_EVENT, ended);
    return () => removeEventListener(SESSION_ENDED_EVENT, ended);
  }, []);

  useEffect(() => {
    if (signedIn === false && page !== "sign-in") navigate("sign-in", `?next=${page}`);
    if (signedIn === true && page === "sign-in") navigate(nextPage());
  }, [signedIn, page]);

  useEffect(() => {
    document.title = t("app.title");
  }, [language]);

  const signOut = async () => {
    await api("DELETE", "/console/api/session").catch(() => {});
    setSignedIn(false);
    navigate("sign-in");
  };

  return (
    <>
      <header class="top">
        <a class="brand" href="/console/overview" onClick={link("overview")}>
          {t("app.title")}
        </a>
        {signedIn && page !== "sign-in" && (
          <nav aria-label="main">
            {PAGES.map((name) => (
              <a key={name} href={`/console/${name}`} aria-current={page === name ? "page" : undefined} onClick={link(name)}>
                {t(`nav.${name}`)}
              </a>
            ))}
          </nav>
        )}
        <div class="tools">
          <label>
            <span class="sr-only">{t("nav.language")}</span>
            <select
              data-testid="language"
              aria-label={t("nav.language")}
              value={language}
              onChange={(event) => setLanguage((event.target as HTMLSelectElement).value as Language)}
            >
              <option value="en">English</option>
              <option value="zh">中文</option>
            </select>
          </label>
          {signedIn && page !== "sign-in" && (
            <button type="button" onClick={signOut}>
              {t("nav.signOut")}
            </button>
          )}
        </div>
      </header>
      <main>
        {page === "sign-in" ? (
          <SignInPage onSignedIn={() => setSignedIn(true)} />
        ) : signedIn ? (
          <CurrentPage page={page} />
        ) : (
          <p>{t("common.loading")}</p>
        )}
      </main>
    </>
  );
}

function CurrentPage({ page }: { page: Exclude<Page, "sign-in"> }) {
  switch (page) {
    case "overview":
      return <OverviewPage />;
    case "keys":
      return <KeysPage />;
    case "usage":
      return <UsagePage />;
    case "jobs":
      return <JobsPage />;
  }
}

/** A link's click as a navigation without reload (modified clicks keep the browser's behaviour). */
function link(page: Page) {
  return (event: MouseEvent) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(page);
  };
}

/** The page sign-in should lead to: `?next=` when it names one. */
function nextPage(): Page {
  const next = new URLSearchParams(location.search).get("next");
  return (PAGES as readonly string[]).includes(next ?? "") ? (next as Page) : "overview";
}
