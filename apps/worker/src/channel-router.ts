import { isChannelAvailable, needsProbe, type ChannelDisableReason, type ChannelHealth, type ChannelState } from "@llmgw/jobs";
import type { ChannelRoute, ProviderRegistry } from "@llmgw/providers";
import { createChannelSelection } from "./channel-selection.js";

/** How long a worker trusts the channels' states it read; its own writes update them at once. */
const STATE_CACHE_MS = 1000;

export interface ChannelRouterDeps {
  registry: Pick<ProviderRegistry, "resolve">;
  health: ChannelHealth;
  /** Told once per disabling, by the worker that disabled it (channel-alarm.ts). */
  onDisabled?(route: ChannelRoute, reason: ChannelDisableReason): void;
  /** The health's clock (tests move it). */
  now?: () => number;
}

/**
 * Chooses the channel of each try: the registry's channels for the job's model, filtered by their
 * shared health (read at most once a second per worker), picked by priority and weight.
 */
export function createChannelRouter(deps: ChannelRouterDeps) {
  const selection = createChannelSelection();
  const states = new Map<string, { state: ChannelState; readAt: number }>();
  const now = deps.now ?? Date.now;

  async function refresh(routes: readonly ChannelRoute[]): Promise<void> {
    const readAt = now();
    const stale = routes.map((route) => route.channel.id).filter((id) => (states.get(id)?.readAt ?? 0) + STATE_CACHE_MS <= readAt);
    if (stale.length === 0) return;
    const read = await deps.health.read(stale);
    for (const [id, state] of read) states.set(id, { state, readAt });
  }

  const available = (route: ChannelRoute) => isChannelAvailable(states.get(route.channel.id)?.state, now());
  const patch = (id: string, change: Partial<ChannelState>) => {
    const known = states.get(id);
    if (known) known.state = { ...known.state, ...change };
  };

  return {
    /** The channels serving a client model, highest priority first; null when none does. */
    routesFor(model: string): ChannelRoute[] | null {
      return deps.registry.resolve(model)?.channels ?? null;
    },

    /**
     * The channel for this try, avoiding those that already failed this job while others are usable.
     * A channel whose cooldown has ended is taken only by the one try that claims its probe; the
     * others pick again without it.
     */
    async choose(routes: readonly ChannelRoute[], avoid: readonly string[]): Promise<ChannelRoute | null> {
      await refresh(routes);
      const fresh = routes.filter((route) => !avoid.includes(route.channel.id));
      const pool = fresh.some(available) ? fresh : routes;
      for (;;) {
        const route = selection.pick(pool, available);
        if (!route || !available(route) || !needsProbe(states.get(route.channel.id)?.state, now())) return route;
        const claimed = await deps.health.claimProbe(route.channel.id);
        // Either way this worker's other tries stay off it until the next read of its state.
        patch(route.channel.id, { probeUntil: now() + STATE_CACHE_MS });
        if (claimed) return route;
      }
    },

    /** Is a channel other than these usable now (from this worker's view)? */
    anotherAvailable(routes: readonly ChannelRoute[], exclude: readonly string[]): boolean {
      return routes.some((route) => !exclude.includes(route.channel.id) && available(route));
    },

    async succeeded(route: ChannelRoute, latencyMs: number): Promise<void> {
      const cooling = (states.get(route.channel.id)?.state.coolUntil ?? 0) > now();
      patch(route.channel.id, cooling ? { fails: 0 } : { fails: 0, coolUntil: 0, probeUntil: 0 });
      await deps.health.recordSuccess(route.channel.id, latencyMs);
    },

    async failed(route: ChannelRoute, retryAfterMs?: number): Promise<void> {
      const { fails, coolUntil } = await deps.health.recordFailure(route.channel.id, retryAfterMs);
      patch(route.channel.id, { fails, coolUntil, probeUntil: 0 });
    },

    async disable(route: ChannelRoute, reason: ChannelDisableReason): Promise<void> {
      const first = await deps.health.disable(route.channel.id, reason);
      patch(route.channel.id, { disabled: reason });
      if (first) deps.onDisabled?.(route, reason);
    },
  };
}

export type ChannelRouter = ReturnType<typeof createChannelRouter>;
