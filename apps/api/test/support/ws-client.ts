import type WebSocket from "ws";

export type Frame = Record<string, unknown> & { type: string };

export interface FrameReader {
  frames: Frame[];
  send(frame: unknown): void;
  /** The first frame from index `from` on that matches; waits for it. */
  next(predicate: (frame: Frame) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<Frame>;
  /** Resolves with the close code and reason once the socket has closed. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
}

/** Collects a socket's JSON frames from now on and lets a test wait for the one it expects. */
export function readFrames(socket: WebSocket): FrameReader {
  const frames: Frame[] = [];
  const checks = new Set<() => void>();
  let closeInfo: { code: number; reason: string } | null = null;
  const notify = () => checks.forEach((check) => check());
  socket.on("message", (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    notify();
  });
  socket.on("close", (code, reason) => {
    closeInfo = { code, reason: reason.toString() };
    notify();
  });
  const waitFor = <T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        checks.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        checks.delete(check);
        reject(new Error(`timed out waiting for ${what}; frames so far:\n${frames.map((frame) => JSON.stringify(frame)).join("\n")}`));
      }, timeoutMs);
      checks.add(check);
      check();
    });
  return {
    frames,
    send: (frame) => socket.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next: (predicate, options = {}) =>
      waitFor(() => frames.slice(options.from ?? 0).find(predicate), options.timeoutMs ?? 5_000, "a matching frame"),
    closed: (timeoutMs = 5_000) => waitFor(() => closeInfo ?? undefined, timeoutMs, "the close"),
  };
}
