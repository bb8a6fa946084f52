import { describe, expect, it } from "vitest";
import type { Channel, ChannelRoute } from "@llmgw/providers";
import { createChannelSelection } from "../src/channel-selection.js";

const route = (id: string, weight: number, priority = 0): ChannelRoute => ({
  channel: { id, provider: "p", weight, priority, keyHint: "...", baseUrl: "http://x", models: [], modelMap: {} } as unknown as Channel,
  upstreamModel: "m",
});

function countPicks(routes: ChannelRoute[], picks: number, available: (route: ChannelRoute) => boolean = () => true) {
  const selection = createChannelSelection();
  const counts = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const picked = selection.pick(routes, available);
    counts.set(picked!.channel.id, (counts.get(picked!.channel.id) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}

describe("channel selection", () => {
  it("honours weights within a few percent over 1,000 picks, spread out rather than in bursts", () => {
    const routes = [route("a", 5), route("b", 3), route("c", 2)];
    const counts = countPicks(routes, 1000);
    expect(counts.a / 1000).toBeCloseTo(0.5, 1);
    expect(Math.abs(counts.a - 500)).toBeLessThanOrEqual(20);
    expect(Math.abs(counts.b - 300)).toBeLessThanOrEqual(20);
    expect(Math.abs(counts.c - 200)).toBeLessThanOrEqual(20);
    // Smooth: never the same channel of weight 5 out of 10 more than twice in a row.
    const selection = createChannelSelection();
    const sequence = Array.from({ length: 20 }, () => selection.pick(routes, () => true)!.channel.id).join("");
    expect(sequence).not.toMatch(/aaa/);
  });

  it("uses only the highest priority while any of it is available", () => {
    const routes = [route("main", 1, 1), route("backup", 1, 0)];
    expect(countPicks(routes, 100)).toEqual({ main: 100 });
  });

  it("falls to a lower priority only when every higher channel is unavailable", () => {
    const routes = [route("main-1", 1, 1), route("main-2", 1, 1), route("backup", 1, 0)];
    expect(countPicks(routes, 10, (candidate) => candidate.channel.id !== "main-1")).toEqual({ "main-2": 10 });
    expect(countPicks(routes, 10, (candidate) => candidate.channel.id === "backup")).toEqual({ backup: 10 });
  });

  it("with nothing available still picks the highest priority, so the try reports the channel's own error", () => {
    const routes = [route("main", 1, 1), route("backup", 1, 0)];
    expect(countPicks(routes, 4, () => false)).toEqual({ main: 4 });
  });
});
