import type { Redis } from "@llmgw/redis";
import { jobKeys } from "@llmgw/jobs";

export interface KeyRevocationOptions {
  /** A command connection to publish on. */
  publisher: Redis;
  /** A connection in subscriber mode; may be shared with other channels. */
  subscriber: Redis;
  /** QUEUE_PREFIX */
  prefix: string;
  /** Called with each revoked key id, this instance's own revocations included. */
  onRevoked: (keyId: string) => void;
  /** Resolve only once subscribed (default). False while Redis is away: ioredis subscribes when it returns. */
  waitForSubscription?: boolean;
}

export interface KeyRevocation {
  /** Drops the key here at once, then tells every other instance; false when Redis did not take the message. */
  announce(keyId: string): Promise<boolean>;
  /** Stops listening (the connections stay open: they belong to the caller). */
  close(): Promise<void>;
}

/**
 * Spreads key revocations to every API instance over Redis pub/sub, so a revoked key stops working
 * everywhere at once. It is a shortcut, not the guarantee: an instance that misses the message
 * (Redis down, reconnecting) still drops the key when its authentication cache entry expires.
 */
export async function createKeyRevocation(options: KeyRevocationOptions): Promise<KeyRevocation> {
  const { publisher, subscriber, onRevoked } = options;
  const channel = jobKeys(options.prefix).keyRevokedChannel;
  const onMessage = (from: string, keyId: string) => {
    if (from === channel && keyId !== "") onRevoked(keyId);
  };
  subscriber.on("message", onMessage);
  const subscribed = subscriber.subscribe(channel);
  if (options.waitForSubscription === false) subscribed.catch(() => {});
  else await subscribed;

  return {
    async announce(keyId) {
      onRevoked(keyId);
      try {
        await publisher.publish(channel, keyId);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      subscriber.off("message", onMessage);
      // The connection may already be gone at shutdown; there is nothing left to unsubscribe from then.
      await subscriber.unsubscribe(channel).catch(() => {});
    },
  };
}
