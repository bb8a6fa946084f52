import type { ChannelRoute } from "@llmgw/providers";

/**
 * Smooth weighted round-robin (nginx's), one state per set of candidates, in this process: over
 * any run of picks each channel gets its share of the weights, spread out rather than in bursts.
 */
export function createChannelSelection() {
  const currents = new Map<string, Map<string, number>>();

  /**
   * Among the available routes of the highest priority that has any, one by weight. With none
   * available, the highest priority's routes are taken as they are: the try then reports the
   * channel's own error (a refused key, a 429) instead of the gateway inventing one.
   */
  function pick(routes: readonly ChannelRoute[], available: (route: ChannelRoute) => boolean): ChannelRoute | null {
    if (routes.length === 0) return null;
    const usable = routes.filter(available);
    const pool = usable.length > 0 ? usable : routes;
    const top = Math.max(...pool.map((route) => route.channel.priority));
    const tier = pool.filter((route) => route.channel.priority === top);
    return weighted(tier);
  }

  function weighted(tier: readonly ChannelRoute[]): ChannelRoute {
    if (tier.length === 1) return tier[0];
    const group = tier.map((route) => route.channel.id).join(",");
    let current = currents.get(group);
    if (!current) currents.set(group, (current = new Map()));
    let total = 0;
    let best = tier[0];
    let bestValue = -Infinity;
    for (const route of tier) {
      const value = (current.get(route.channel.id) ?? 0) + route.channel.weight;
      current.set(route.channel.id, value);
      total += route.channel.weight;
      if (value > bestValue) [best, bestValue] = [route, value];
    }
    current.set(best.channel.id, bestValue - total);
    return best;
  }

  return { pick };
}

export type ChannelSelection = ReturnType<typeof createChannelSelection>;
