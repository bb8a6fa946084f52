import type { ChatCompletionChunk } from "@llmgw/providers";

/**
 * Writes a try's chunks to the job's log without making the upstream wait on Redis: the first
 * chunk goes out at once, and chunks arriving while a write is in flight go together in the
 * next one (one round trip for many, one log entry each). `lost` turns true when the log refused
 * a write: the job was cancelled or another attempt took it over.
 */
export function createChunkWriter(append: (chunks: ChatCompletionChunk[]) => Promise<unknown>) {
  let pending: ChatCompletionChunk[] = [];
  let inFlight: Promise<void> | null = null;
  let lost = false;
  let failure: unknown = null;

  function pump() {
    if (inFlight || pending.length === 0 || lost) return;
    const batch = pending;
    pending = [];
    inFlight = append(batch)
      .then(
        (written) => {
          if (!written) lost = true;
        },
        (error: unknown) => {
          failure = error;
          lost = true;
        },
      )
      .finally(() => {
        inFlight = null;
        pump();
      });
  }

  return {
    push(chunk: ChatCompletionChunk) {
      if (failure) throw failure;
      pending.push(chunk);
      pump();
    },
    get lost() {
      return lost;
    },
    /** Waits until every pushed chunk is written; false when the log refused them. */
    async drain(): Promise<boolean> {
      while (inFlight) await inFlight;
      if (failure) throw failure;
      return !lost;
    },
  };
}
