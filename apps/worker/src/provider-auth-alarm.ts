import type { Logger } from "@llmgw/logger";
import type { ChatCompletionChunk, ProviderAdapter } from "@llmgw/providers";
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
  const watched = new Map<ProviderAdapter, ProviderAdapter>();

  const observe = (error: unknown) => {
    if (!isProviderAuthError(error) || raised.has(error.provider)) return;
    raised.add(error.provider);
    logger.error(
      { provider: error.provider, status: error.status, upstreamCode: error.detail.code },
      `provider "${error.provider}" refused the gateway's credentials (HTTP ${error.status}): every request it serves fails with 502 provider_auth_error until its key is fixed (DEEPSEEK_API_KEY, OPENAI_API_KEY or the api_key_env of its PROVIDERS_FILE entry). Logged once per provider per worker process.`,
    );
  };

  return {
    observe,
    /** The adapter, with every refusal of the gateway's key reported to the alarm (the same wrapper each time). */
    watch(adapter: ProviderAdapter | undefined): ProviderAdapter | undefined {
      if (!adapter) return undefined;
      let wrapped = watched.get(adapter);
      if (!wrapped) watched.set(adapter, (wrapped = watchAdapter(adapter, observe)));
      return wrapped;
    },
  };
}

function watchAdapter(adapter: ProviderAdapter, observe: (error: unknown) => void): ProviderAdapter {
  const rethrow = (error: unknown): never => {
    observe(error);
    throw error;
  };
  return {
    name: adapter.name,
    supportsStreaming: adapter.supportsStreaming,
    createChatCompletion: (request, options) => adapter.createChatCompletion(request, options).catch(rethrow),
    streamChatCompletion: (request, options) => watchStream(adapter.streamChatCompletion(request, options), rethrow),
    listModels: adapter.listModels && ((options) => adapter.listModels!(options).catch(rethrow)),
    close: adapter.close && (() => adapter.close!()),
  };
}

async function* watchStream(chunks: AsyncIterable<ChatCompletionChunk>, rethrow: (error: unknown) => never): AsyncIterable<ChatCompletionChunk> {
  try {
    // yield* hands an early return (the consumer stopped reading) on to the upstream's stream.
    yield* chunks;
  } catch (error) {
    rethrow(error);
  }
}
