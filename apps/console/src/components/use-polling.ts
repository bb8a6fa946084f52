import { useEffect, useState } from "preact/hooks";

/**
 * Loads `load()` now and every `intervalMs` (when given), while the page is visible; reloads when
 * `deps` change. Returns the latest value, the latest error, and a reload function.
 */
export function usePolling<T>(load: () => Promise<T>, deps: unknown[], intervalMs?: number) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let active = true;
    const run = () =>
      load().then(
        (result) => {
          if (!active) return;
          setValue(result);
          setError(null);
        },
        (failure: Error) => active && setError(failure.message),
      );
    void run();
    const timer = intervalMs === undefined ? undefined : setInterval(() => document.visibilityState === "visible" && void run(), intervalMs);
    return () => {
      active = false;
      clearInterval(timer);
    };
  }, [...deps, tick]);
  return { value, error, reload: () => setTick((n) => n + 1) };
}
