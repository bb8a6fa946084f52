import { ProviderError } from "@llmgw/providers";

export interface DeadlineSettings {
  provider: string;
  firstByteMs: number;
  idleMs: number;
  totalMs: number;
}

/**
 * The three clocks of one try: time to the first byte (a chunk, or a JSON answer's headers),
 * idle time between chunks, and the whole try. Each aborts the given controller with a ProviderError as the reason, so the
 * adapter closes the upstream socket and rethrows that error. Only before the first chunk is
 * a timeout worth a retry; after it, the text so far would be lost or repeated.
 */
export function startTryDeadlines(controller: AbortController, settings: DeadlineSettings) {
  let sawChunk = false;
  const expire = (message: string) => () =>
    controller.abort(new ProviderError(message, { provider: settings.provider, retryable: !sawChunk }));
  const total = setTimeout(expire(`no complete answer within ${settings.totalMs} ms`), settings.totalMs);
  let idle = setTimeout(expire(`no first byte within ${settings.firstByteMs} ms`), settings.firstByteMs);

  return {
    /** Call for each chunk received: restarts the idle clock. */
    progress() {
      if (sawChunk) {
        // Restarts the same timer: no new timer per chunk.
        idle.refresh();
        return;
      }
      sawChunk = true;
      clearTimeout(idle);
      idle = setTimeout(expire(`no data for ${settings.idleMs} ms in the middle of the answer`), settings.idleMs);
    },
    /**
     * The response headers arrived: the first byte is in. A JSON answer comes whole at the end
     * (some providers send blank lines meanwhile), so only the total clock bounds it from here.
     */
    responded() {
      clearTimeout(idle);
    },
    get sawChunk() {
      return sawChunk;
    },
    clear() {
      clearTimeout(total);
      clearTimeout(idle);
    },
  };
}
