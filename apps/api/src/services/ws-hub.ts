import type { WebSocket } from "ws";
import type { JobEventHub } from "@llmgw/jobs";
import type { Logger } from "@llmgw/logger";
import type { ClientAuthenticator, Principal } from "./client-auth.js";
import type { KeySessions } from "./key-sessions.js";
import type { JobService } from "./job-service.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { ConnectionLease, ConnectionLimiter } from "./connection-limiter.js";
import type { ReadLimiter } from "./read-limiter.js";
import { createWsOutbound, newWsConnection, stopSubscriptions, type WsConnection, type WsUpgradeAuth } from "./ws-connection.js";
import { createWsConnectionAuth } from "./ws-connection-auth.js";
import { createWsConnectionSubscriptions } from "./ws-connection-subscriptions.js";
import { createWsFrameHandlers } from "./ws-frame-handlers.js";

export { CLOSE_SLOW_READER, CLOSE_TOO_MANY_CONNECTIONS, CLOSE_UNAUTHENTICATED } from "./ws-connection.js";

export interface WsHubOptions {
  /** A connection without a header key must send its `auth` frame within this. */
  authTimeoutMs: number;
  /** Every connection is pinged this often; one that has not answered the previous ping is dropped. */
  heartbeatIntervalMs: number;
  /** A connection with more unsent bytes than this when an event is due is a slow reader and is closed. */
  maxBufferedBytes: number;
  maxSubscriptionsPerConnection: number;
  /** Frames of one connection received but not yet handled; above this the socket is not read until they are. */
  maxPendingFrames: number;
}

export const defaultWsHubOptions: WsHubOptions = {
  authTimeoutMs: 5_000,
  heartbeatIntervalMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
  maxSubscriptionsPerConnection: 1_000,
  maxPendingFrames: 64,
};

export interface WsHubDeps {
  jobs: JobService;
  hub: JobEventHub;
  authenticator: ClientAuthenticator;
  /** Consumes one request of the key's limits per `create` frame; null when limits are off. */
  limiter: RateLimiter | null;
  logger: Logger;
  connectionGauge?: { inc(): void; dec(): void };
  /** Consumes one read per subscribe, unsubscribe and cancel frame; null when limits are off. */
  reads?: ReadLimiter | null;
  /** A connection authenticated by its `auth` frame takes its slot of MAX_WEBSOCKETS_PER_KEY here. */
  connectionLimiter?: ConnectionLimiter;
  /** Authenticated connections are registered here under their key; a revocation closes them (4401). */
  keySessions?: KeySessions;
}

/**
 * The WebSocket side of CONTRACT section 6, without Fastify: each connection authenticates (by
 * header or by a first `auth` frame), then creates, subscribes to, unsubscribes from and cancels
 * jobs. Every subscription of every socket is fed by the process's one job event hub; a replay
 * is paced by the socket, a live event is sent at once, and a socket whose backlog grows past
 * the bound is closed rather than buffered without end. One timer pings all sockets.
 * The parts: ws-connection.ts (state, sending, closing), ws-connection-auth.ts (the key),
 * ws-frame-handlers.ts (what frames do), ws-connection-subscriptions.ts (the jobs followed).
 */
export function createWsHub(deps: WsHubDeps, overrides: Partial<WsHubOptions> = {}) {
  const options = { ...defaultWsHubOptions, ...overrides };
  const connections = new Set<WsConnection>();
  const outbound = createWsOutbound({ logger: deps.logger, maxBufferedBytes: options.maxBufferedBytes });
  const auth = createWsConnectionAuth({
    authenticator: deps.authenticator,
    outbound,
    authTimeoutMs: options.authTimeoutMs,
    ...(deps.connectionLimiter ? { connectionLimiter: deps.connectionLimiter } : {}),
    ...(deps.keySessions ? { keySessions: deps.keySessions } : {}),
  });
  const subscriptions = createWsConnectionSubscriptions({ hub: deps.hub, outbound, maxSubscriptionsPerConnection: options.maxSubscriptionsPerConnection });
  const frames = createWsFrameHandlers({
    jobs: deps.jobs,
    limiter: deps.limiter,
    reads: deps.reads ?? null,
    outbound,
    auth,
    subscriptions,
    maxPendingFrames: options.maxPendingFrames,
  });

  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }, options.heartbeatIntervalMs);
  heartbeat.unref();

  return {
    /**
     * Takes over an upgraded socket. `principal` and `apiKey` are set when the upgrade request
     * carried a valid key; otherwise the first frame must authenticate.
     */
    accept(socket: WebSocket, connectionAuth: WsUpgradeAuth, requestId: string) {
      const connection = newWsConnection(socket, connectionAuth, requestId);
      connections.add(connection);
      deps.connectionGauge?.inc();
      auth.begin(connection);
      socket.on("pong", () => (connection.alive = true));
      socket.on("message", (data, isBinary) => frames.receive(connection, data, isBinary));
      socket.once("close", () => {
        connection.closed = true;
        if (connection.authTimer) clearTimeout(connection.authTimer);
        connection.lease?.release();
        connection.leaveSessions();
        stopSubscriptions(connection);
        connections.delete(connection);
        deps.connectionGauge?.dec();
      });
    },

    /** Open connections, live subscriptions, and slow readers closed since start. */
    stats() {
      let subscriptionCount = 0;
      for (const connection of connections) subscriptionCount += connection.subscriptions.size;
      return { connections: connections.size, subscriptions: subscriptionCount, slowReadersClosed: outbound.slowReadersClosed() };
    },

    /** Stops the heartbeat and closes every socket (1001, going away). */
    close() {
      clearInterval(heartbeat);
      for (const connection of connections) outbound.closeGoingAway(connection);
    },
  };
}

export type WsHub = ReturnType<typeof createWsHub>;
