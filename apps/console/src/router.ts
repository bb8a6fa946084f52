import { useEffect, useState } from "preact/hooks";

/** The console's pages, each at /console/<page>; the API redirects them to sign-in without a session. */
export const PAGES = ["overview", "keys", "usage", "jobs"] as const;
export type Page = (typeof PAGES)[number] | "sign-in";

const BASE = "/console/";

function pageOf(pathname: string): Page {
  const name = pathname.startsWith(BASE) ? pathname.slice(BASE.length).replace(/\/$/, "") : "";
  return (PAGES as readonly string[]).includes(name) || name === "sign-in" ? (name as Page) : "overview";
}

/** Moves to a page without reloading (the history entry keeps back and forward working). */
export function navigate(page: Page, query = "") {
  const url = `${BASE}${page}${query}`;
  if (location.pathname + location.search !== url) history.pushState(null, "", url);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** The page in the address bar, updated on navigation. */
export function usePage(): Page {
  const [page, setPage] = useState(() => pageOf(location.pathname));
  useEffect(() => {
    const update = () => setPage(pageOf(location.pathname));
    addEventListener("popstate", update);
    return () => removeEventListener("popstate", update);
  }, []);
  return page;
}
