export interface LoginThrottleOptions {
  /** Failures an address may make within `windowMs` before it is refused. */
  maxFailures?: number;
  windowMs?: number;
  /** Most addresses remembered; the oldest go first, so a spray from many addresses cannot grow memory. */
  maxAddresses?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

export interface LoginThrottle {
  /** Seconds the address must wait before it may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number;
  /** Counts one failed login from the address. */
  recordFailure(address: string): void;
}

/**
 * Failed admin logins per client address, over a sliding window: after `maxFailures` within
 * `windowMs` the address is refused until its oldest failure leaves the window. In-process: each
 * API instance counts its own, which bounds guessing at `maxFailures` per minute per instance.
 */
export function createLoginThrottle(options: LoginThrottleOptions = {}): LoginThrottle {
  const maxFailures = options.maxFailures ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  // The times of each address's latest failures, oldest first, at most maxFailures of them.
  const failures = new Map<string, number[]>();

  function recent(address: string, at: number): number[] {
    const times = (failures.get(address) ?? []).filter((time) => at - time < windowMs);
    if (times.length === 0) failures.delete(address);
    return times;
  }

  return {
    retryAfterSeconds(address) {
      const at = now();
      const times = recent(address, at);
      if (times.length < maxFailures) return 0;
      return Math.max(1, Math.ceil((times[0] + windowMs - at) / 1000));
    },
    recordFailure(address) {
      const at = now();
      const times = [...recent(address, at), at].slice(-maxFailures);
      // Re-inserting keeps the Map in order of last failure, so its first entry is the stalest.
      failures.delete(address);
      failures.set(address, times);
      while (failures.size > maxAddresses) failures.delete(failures.keys().next().value as string);
    },
  };
}
