import { useEffect, useState } from "preact/hooks";
import { admin } from "../api.js";
import type { Spending } from "../types.js";

/** The most records whose spending one list reads (the first shown that have a budget); the rest show their budgets only. */
export const MAX_SPENDING_READS = 50;
/** Reads in flight at once, so a long list does not queue dozens of requests in the browser. */
const PARALLEL_READS = 4;

/**
 * The current day's and month's spending of the given keys or users, read with GET
 * /api-keys/{id} or /users/{id} (the lists carry no spending): only the ids asked for (the
 * caller passes those with a budget), at most MAX_SPENDING_READS, PARALLEL_READS at a time;
 * again when the ids or `version` change. Until then the previous figures stay on screen.
 */
export function useSpending(resource: "api-keys" | "users", ids: number[], version: unknown): Map<number, Spending> {
  const [spending, setSpending] = useState<Map<number, Spending>>(new Map());
  const wanted = ids.slice(0, MAX_SPENDING_READS);
  const wantedKey = wanted.join(",");
  useEffect(() => {
    let active = true;
    if (wanted.length === 0) setSpending(new Map());
    else void readSpending(resource, wanted).then((read) => active && setSpending(read));
    return () => {
      active = false;
    };
  }, [resource, wantedKey, version]);
  return spending;
}

async function readSpending(resource: string, ids: number[]): Promise<Map<number, Spending>> {
  const read = new Map<number, Spending>();
  let next = 0;
  const reader = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        read.set(id, (await admin<{ spending: Spending }>("GET", `/${resource}/${id}`)).spending);
      } catch {
        // Deleted or revoked meanwhile, or the session ended (the shell handles that): shown without spending.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, ids.length) }, reader));
  return read;
}
