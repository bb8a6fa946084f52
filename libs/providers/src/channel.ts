import type { ProviderAdapter } from "./types.js";

/**
 * One (provider, base URL, key) that serves some models. The id is made of configuration names
 * (`deepseek-1`, `groq-2`), stable across restarts and never derived from the key.
 */
export interface Channel {
  readonly id: string;
  /** The provider's name, for labels and `PROVIDER/MODEL`. */
  readonly provider: string;
  readonly adapter: ProviderAdapter;
  readonly baseUrl: string;
  readonly weight: number;
  readonly priority: number;
  /** The key as an admin may see it: `sk-...a1b2`. */
  readonly keyHint: string;
  /** Client model names this channel lists (its `models` and `model_map` keys). */
  readonly models: readonly string[];
  readonly modelMap: Readonly<Record<string, string>>;
}

/** A channel able to serve one client model, and the name it expects upstream. */
export interface ChannelRoute {
  channel: Channel;
  upstreamModel: string;
}

/** Enough of a key to tell two apart, never enough to use: the first 3 and last 4 characters of a long key. */
export function maskKey(key: string): string {
  if (key.length < 16) return "...";
  return `${key.slice(0, 3)}...${key.slice(-4)}`;
}

/** The keys of a comma-separated key variable (`DEEPSEEK_API_KEY=k1,k2`). */
export function splitKeys(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key !== "");
}
