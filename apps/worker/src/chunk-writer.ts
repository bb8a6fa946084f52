import type { ChatCompletionChunk } from "@llmgw/providers";

export interface ChunkWriterOptions {
  /**
   * 0: write each chunk at once (someone follows the job live). Above 0: hold chunks up to this
   * long and write them together; a short answer's chunks then go with its final event.
   */
  holdMs?: number;
}

/**
 * Writes a try's chunks to the job's log without making the upstream wait on Redis: a chunk goes
 * out at once (or after `holdMs`), and chunks arriving while a write is in flight go together in
 * the next one (one round trip for many, one log entry each). `lost` turns true when the log
 * refused a write: the job was cancelled or another attempt took it over.
 */
export function createChunkWriter(append: (chunks: ChatCompletionChunk[]) => Promise<unknown>, options: ChunkWriterOptions = {}) {
  const holdMs = options.holdMs ?? 0;
  let pending: ChatCompletionChunk[] = [];
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
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
        schedule();
      });
  }

  function schedule() {
    if (finishing || pending.length === 0) return;
    if (holdMs === 0) return write();
    timer ??= setTimeout(() => {
      timer = null;
      write();
    }, holdMs);
  }

  function clearTimer() {
    if (timer) clearTimeout(timer);
    timer = null;
  }

  return {
    push(chunk: ChatCompletionChunk) {
      if (failure) throw failure;
      pending.push(chunk);
      schedule();
    },
    get lost() {
      return lost;
    },
    /** Writes every pushed chunk now and waits for it; false when the log refused them. */
    async drain(): Promise<boolean> {
      clearTimer();
      write();
      while (inFlight) {
        await inFlight;
        // Chunks that arrived meanwhile wait on a hold timer: they go now too.
        clearTimer();
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
      clearTimer();
      while (inFlight) await inFlight;
      if (failure) throw failure;
      if (lost) return null;
      const rest = pending;
      pending = [];
      return rest;
    },
  };
}
