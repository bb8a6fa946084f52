import { createHash } from "node:crypto";

/**
 * The job id that identical requests in flight share, on any API instance: `job_c` + 40 hex.
 *
 * Deterministic on purpose, and safe because (1) the cache key is a SHA-256 over the scope and the
 * whole request, so the id cannot be derived without both; (2) a second, domain-separated hash
 * means the id shown to clients does not reveal the cache key; (3) knowing an id grants nothing:
 * every read, subscribe and cancel still checks the job's owner.
 */
export function coalescingJobId(cacheKey: string): string {
  const digest = createHash("sha256").update(`llmgw-coalesce:${cacheKey}`).digest("hex");
  return `job_c${digest.slice(0, 40)}`;
}
