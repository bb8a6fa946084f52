import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createChannelHealth } from "@llmgw/jobs";
import type { Channel, ChannelRoute } from "@llmgw/providers";
import { createChannelRouter } from "../src/channel-router.js";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.disconnect());

const route = (id: string, priority = 0): ChannelRoute => ({
  channel: { id, provider: "p", weight: 1, priority, keyHint: "...", baseUrl: "http://x", models: [], modelMap: {} } as unknown as Channel,
  upstreamModel: "m",
});

describe("channel router: the one probe after a cooldown, across workers", () => {
  it("sends exactly one try to a channel whose cooldown has ended; the others go elsewhere until it succeeds", async () => {
    let clock = Date.now();
    const prefix = `test-${randomUUID()}`;
    const health = createChannelHealth(redis, prefix, { failuresToCool: 1, cooldownMs: 60_000 }, () => clock);
    const primary = route("primary", 1);
    const backup = route("backup", 0);
    const routes = [primary, backup];
    await health.recordFailure("primary");
    clock += 60_000;

    // Two workers (two routers, each with its own view of the states), 20 tries at once.
    const workers = [1, 2].map(() => createChannelRouter({ registry: { resolve: () => null }, health, now: () => clock }));
    const chosen = await Promise.all(Array.from({ length: 20 }, (_, i) => workers[i % 2].choose(routes, [])));
    const ids = chosen.map((picked) => picked!.channel.id);
    expect(ids.filter((id) => id === "primary")).toHaveLength(1);
    expect(ids.filter((id) => id === "backup")).toHaveLength(19);

    // The probe succeeds: the priority-1 channel takes the traffic back.
    const prober = workers[ids.indexOf("primary") % 2];
    await prober.succeeded(primary, 100);
    expect((await prober.choose(routes, []))!.channel.id).toBe("primary");
    expect(await health.claimProbe("primary")).toBe(true);
  });
});
