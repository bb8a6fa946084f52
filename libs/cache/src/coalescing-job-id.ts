import { createHash } from "node:crypto";
import { clientAskedUsage, type ChatCompletionRequest } from "@llmgw/providers";

/** How the caller takes the answer: the provider's JSON answer, or its chunks (with the usage chunk or not). */
export type Delivery = "json" | "stream" | "stream+usage";

export function deliveryOf(request: ChatCompletionRequest): Delivery {
  if (request.stream !== true) return "json";
  return clientAskedUsage(request) ? "stream+usage" : "stream";
}

/**
 * The job id that identical requests in flight share, on any API instance: `job_c` + 40 hex.
 * Requests share a job only when they also want the same delivery: a JSON caller gets the
 * provider's JSON answer, a stream caller the chunks, and both must come from their own call.
 *
 * Deterministic on purpose, and safe because (1) the cache key is a SHA-256 over the scope and the
 * whole request, so the id cannot be derived without both; (2) a second, domain-separated hash
 * means the id shown to clients does not reveal the cache key; (3) knowing an id grants nothing:
 * every read, subscribe and cancel still checks the job's owner.
 */
export function coalescingJobId(cacheKey: string, delivery: Delivery): string {
  const digest = createHash("sha256").update(`llmgw-coalesce:${cacheKey}:${delivery}`).digest("hex");
  return `job_c${digest.slice(0, 40)}`;
}
