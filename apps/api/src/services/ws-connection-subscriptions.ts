import type { JobEventHub } from "@llmgw/jobs";
import type { WsConnection, WsOutbound } from "./ws-connection.js";
import { subscribeToJob, type JobSubscription } from "./ws-subscription.js";

export interface WsConnectionSubscriptionsDeps {
  hub: JobEventHub;
  outbound: WsOutbound;
  maxSubscriptionsPerConnection: number;
}

/** Which jobs a connection follows, bounded per connection; one subscription itself lives in ws-subscription.ts. */
export function createWsConnectionSubscriptions(deps: WsConnectionSubscriptionsDeps) {
  const { outbound } = deps;

  /** Subscribes the connection to a job (again, if it was: the new `after` wins). */
  function subscribe(connection: WsConnection, jobId: string, after: string | undefined) {
    connection.subscriptions.get(jobId)?.stop();
    const subscription: JobSubscription = subscribeToJob({
      hub: deps.hub,
      jobId,
      after,
      send: (frame, written) => outbound.send(connection, frame, written),
      onEnd: (error) => {
        if (connection.subscriptions.get(jobId) === subscription) connection.subscriptions.delete(jobId);
        if (error !== undefined) outbound.sendError(connection, error, { jobId });
      },
    });
    // Registered before its first read returns, so `onEnd` always finds it.
    connection.subscriptions.set(jobId, subscription);
  }

  function unsubscribe(connection: WsConnection, jobId: string) {
    connection.subscriptions.get(jobId)?.stop();
    connection.subscriptions.delete(jobId);
  }

  /** True when subscribing to `jobId` would take the connection past its cap (re-subscribing never does). */
  function atCap(connection: WsConnection, jobId: string): boolean {
    return !connection.subscriptions.has(jobId) && connection.subscriptions.size >= deps.maxSubscriptionsPerConnection;
  }

  return { subscribe, unsubscribe, atCap, max: deps.maxSubscriptionsPerConnection };
}

export type WsConnectionSubscriptions = ReturnType<typeof createWsConnectionSubscriptions>;
