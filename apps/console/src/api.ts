/** Dispatched on `window` when the API answers 401: the session ended (expired, or signed out elsewhere). */
export const SESSION_ENDED_EVENT = "console:session-ended";

/** The error the gateway answered with, in its OpenAI shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    /** The request field the error is about (OpenAI's `param`, e.g. `allowed_ips` or `allowed_ips[0]`), when named. */
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/**
 * A call to the gateway's own API with the session cookie (same origin only). Every request
 * carries `x-console-csrf: 1`, which the API requires on cookie-authenticated changes. A 401
 * means the session ended: the shell hears it and shows the sign-in page.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "x-console-csrf": "1", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error ?? {};
    if (response.status === 401 && !path.startsWith("/console/api/session")) dispatchEvent(new Event(SESSION_ENDED_EVENT));
    throw new ApiError(response.status, error.message ?? response.statusText, error.code ?? null, error.param ?? null);
  }
  return payload as T;
}

export const admin = <T>(method: string, path: string, body?: unknown) => api<T>(method, `/api/v1/admin${path}`, body);

/** A query string of the values that are set. */
export function query(values: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(values).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return entries.length === 0 ? "" : `?${new URLSearchParams(entries.map(([key, value]) => [key, String(value)]))}`;
}
