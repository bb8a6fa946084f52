import type { ChatCompletionChunk } from "@llmgw/providers";

/**
 * Writes a try's chunks to the job's log without making the upstream wait on Redis: a chunk goes
 * out at once, and chunks arriving while a write is in flight go together in the next one (one
 * round trip for many, one log entry each). `lost` turns true when the log refused a write: the
 * job was cancelled or another attempt took it over.
 */
export function createChunkWriter(append: (chunks: ChatCompletionChunk[]) => Promise<unknown>) {
  let pending: ChatCompletionChunk[] = [];
  let inFlight: Promise<void> | null = null;
  /** Set by finish(): what is left goes with the final event, not in a write of its own. */
  let finishing = false;
  let lost = false;
  let failure: unknown = null;

  function write() {
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
        if (!finishing) write();
      });
  }

  return {
    push(chunk: ChatCompletionChunk) {
      if (failure) throw failure;
      pending.push(chunk);
      write();
    },
    get lost() {
      return lost;
    },
    /** Writes every pushed chunk now and waits for it; false when the log refused them. */
    async drain(): Promise<boolean> {
      write();
      while (inFlight) {
        await inFlight;
        write();
      }
      if (failure) throw failure;
      return !lost;
    },
    /**
     * The end of a successful try: waits for the write in flight and hands back the chunks not
     * written yet, for the call that writes the final event; null when the log refused a write.
     */
    async finish(): Promise<ChatCompletionChunk[] | null> {
      finishing = true;
      while (inFlight) await inFlight;
      if (failure) throw failure;
      if (lost) return null;
      const rest = pending;
      pending = [];
      return rest;
    },
  };
}
