import type { Logger } from "@llmgw/logger";
import { isProviderAuthError } from "./retry-policy.js";

/**
 * Says loudly, at error level and once per provider per process, that a provider refused the
 * gateway's own key (its 401 or 403). Every job for that provider fails with 502
 * `provider_auth_error` until an operator fixes the key; one line per process is enough to be
 * seen, a line per request would bury everything else. The line names the provider and never
 * carries the upstream's text, which may quote the key it refused.
 */
export function createProviderAuthAlarm(logger: Logger) {
  const raised = new Set<string>();

  const observe = (error: unknown) => {
    if (!isProviderAuthError(error) || raised.has(error.provider)) return;
    raised.add(error.provider);
    logger.error(
      { provider: error.provider, status: error.status, upstreamCode: error.detail.code },
      `provider "${error.provider}" refused the gateway's credentials (HTTP ${error.status}): every request it serves fails with 502 provider_auth_error until its key is fixed (DEEPSEEK_API_KEY, OPENAI_API_KEY or the api_key_env of its PROVIDERS_FILE entry). Logged once per provider per worker process.`,
    );
  };

  /** Called with every error of a try: a refusal of the gateway's key is reported once per provider. */
  return { observe };
}
