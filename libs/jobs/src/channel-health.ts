import type { Redis } from "ioredis";
import { channelKeys } from "./contract.js";
import { jobScripts } from "./scripts.js";

/** Why a channel is disabled: its key refused, out of credit, or an admin's choice. */
export type ChannelDisableReason = "key_refused" | "no_credit" | "admin";

/** One channel's shared state, as every worker and API instance reads it. */
export interface ChannelState {
  /** Failed tries in a row. */
  fails: number;
  /** Cooling down until this unix ms; 0 when healthy. Past but not 0: half-open, the next try is a probe. */
  coolUntil: number;
  /** The probe after a cooldown holds the channel until this unix ms; 0 when none. */
  probeUntil: number;
  disabled: string | null;
  disabledAt: number | null;
  requests: number;
  errors: number;
  /** Sum of successful tries' latencies. */
  latencyMs: number;
}

export interface ChannelFailureSettings {
  failuresToCool: number;
  cooldownMs: number;
}

export interface ChannelHealth {
  /** The states of these channels in one round trip. */
  read(ids: readonly string[]): Promise<Map<string, ChannelState>>;
  recordSuccess(id: string, latencyMs: number): Promise<void>;
  /**
   * May this try use a channel whose cooldown has ended? True for exactly one caller (the probe),
   * until the probe ends or its lease (CHANNEL_COOLDOWN_MS) runs out; true for a healthy channel.
   */
  claimProbe(id: string): Promise<boolean>;
  /** Counts a failed try; resolves to the channel's new state of cooling. */
  recordFailure(id: string, retryAfterMs?: number): Promise<{ fails: number; coolUntil: number }>;
  /** True when this call disabled it (it was not already). */
  disable(id: string, reason: ChannelDisableReason): Promise<boolean>;
  /** Back to healthy: not disabled, not cooling, no failures counted. */
  enable(id: string): Promise<void>;
}

/** Is the channel usable now (a half-open one only by the try that claims its probe)? */
export function isChannelAvailable(state: ChannelState | undefined, now = Date.now()): boolean {
  return !state || (state.disabled === null && state.coolUntil <= now && state.probeUntil <= now);
}

/** Has its cooldown ended without a success since (half-open)? Its next try must claim the probe. */
export function needsProbe(state: ChannelState | undefined, now = Date.now()): boolean {
  return !!state && state.coolUntil > 0 && state.coolUntil <= now;
}

/** The channels' health shared through Redis: one small hash per channel (contract.ts channelKeys). */
export function createChannelHealth(redis: Redis, prefix: string, settings: ChannelFailureSettings, now: () => number = Date.now): ChannelHealth {
  const scripts = jobScripts(redis);
  const keys = channelKeys(prefix);
  return {
    async read(ids) {
      const states = new Map<string, ChannelState>();
      if (ids.length === 0) return states;
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hgetall(keys.state(id));
      const replies = (await pipeline.exec()) ?? [];
      ids.forEach((id, index) => {
        const [error, value] = replies[index] ?? [null, {}];
        if (error) throw error;
        states.set(id, parseState((value ?? {}) as Record<string, string>));
      });
      return states;
    },
    async recordSuccess(id, latencyMs) {
      await scripts.llmgwChannelSuccess(keys.state(id), now(), Math.max(0, Math.round(latencyMs)));
    },
    async claimProbe(id) {
      return (await scripts.llmgwChannelProbe(keys.state(id), now(), settings.cooldownMs)) === 1;
    },
    async recordFailure(id, retryAfterMs = 0) {
      const [fails, coolUntil] = await scripts.llmgwChannelFailure(
        keys.state(id),
        now(),
        settings.failuresToCool,
        settings.cooldownMs,
        Math.max(0, Math.round(retryAfterMs)),
      );
      return { fails: Number(fails), coolUntil: Number(coolUntil) };
    },
    async disable(id, reason) {
      return (await scripts.llmgwChannelDisable(keys.state(id), reason, now())) === 1;
    },
    async enable(id) {
      await redis.hdel(keys.state(id), "disabled", "disabled_at", "fails", "cool_until", "probe_until");
    },
  };
}

function parseState(hash: Record<string, string>): ChannelState {
  const number = (field: string) => Number(hash[field] ?? 0) || 0;
  return {
    fails: number("fails"),
    coolUntil: number("cool_until"),
    probeUntil: number("probe_until"),
    disabled: hash.disabled ?? null,
    disabledAt: hash.disabled_at ? Number(hash.disabled_at) : null,
    requests: number("requests"),
    errors: number("errors"),
    latencyMs: number("latency_ms"),
  };
}
