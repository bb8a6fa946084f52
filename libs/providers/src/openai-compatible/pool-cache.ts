import { Pool } from "undici";

interface SharedPool {
  pool: Pool;
  users: number;
}

const pools = new Map<string, SharedPool>();

export interface PoolLease {
  readonly pool: Pool;
  /** Gives the lease back; the last one out closes the pool. Idempotent. */
  release(): Promise<void>;
}

/**
 * One keep-alive connection pool per upstream origin, shared by every adapter that talks to
 * it, so two providers on one host (or two registries in one process) reuse sockets.
 */
export function leasePool(origin: string): PoolLease {
  let shared = pools.get(origin);
  if (!shared) {
    shared = {
      pool: new Pool(origin, {
        pipelining: 1,
        // No clocks of undici's own: the caller's AbortSignal carries the first-byte, idle and
        // total deadlines, and a slow model may legitimately think for minutes.
        headersTimeout: 0,
        bodyTimeout: 0,
      }),
      users: 0,
    };
    pools.set(origin, shared);
  }
  shared.users++;
  const lease = shared;
  let released = false;
  return {
    pool: lease.pool,
    async release() {
      if (released) return;
      released = true;
      lease.users--;
      if (lease.users > 0) return;
      if (pools.get(origin) === lease) pools.delete(origin);
      await lease.pool.close();
    },
  };
}
