import type { RawData, WebSocket } from "ws";
import { GatewayError } from "@llmgw/errors";
import { isEventId, type JobEventHub } from "@llmgw/jobs";
import type { Logger } from "@llmgw/logger";
import { toHttpError } from "./http-errors.js";
import type { ClientAuthenticator, Principal } from "./client-auth.js";
import { REVOKED_KEY_MESSAGE, type KeySessions } from "./key-sessions.js";
import type { JobService } from "./job-service.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { ConnectionLease, ConnectionLimiter } from "./connection-limiter.js";
import { readLimitError, type ReadLimiter } from "./read-limiter.js";
import { parseClientFrame, type ClientFrame, type ClientRef } from "./ws-frames.js";
import { subscribeToJob, type JobSubscription } from "./ws-subscription.js";

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

/** Close codes: 4401 = authentication failed or missing (HTTP 401 in the 4000 range); 1013 = try again later. */
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_SLOW_READER = 1013;
/** The key already holds MAX_WEBSOCKETS_PER_KEY connections (HTTP 429 in the 4000 range). */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
/** An unauthenticated connection's frame larger than this is not even parsed: an auth frame is small. */
const MAX_UNAUTHENTICATED_FRAME_BYTES = 4096;
const CLOSE_GOING_AWAY = 1001;
/** After closing a slow reader, how long its backlog may still drain before the socket is destroyed. */
const SLOW_READER_GRACE_MS = 2_000;

interface Connection {
  socket: WebSocket;
  requestId: string;
  principal: Principal | null;
  /** Kept to re-check the key on each action frame: a revoked key stops working here too. */
  apiKey: string | null;
  alive: boolean;
  closed: boolean;
  subscriptions: Map<string, JobSubscription>;
  /** Frames are handled one after another, so answers keep the order of the frames. */
  work: Promise<void>;
  pendingFrames: number;
  authTimer: NodeJS.Timeout | null;
  /** The connection's slot of its key's WebSocket cap, released on close. */
  lease: ConnectionLease | null;
  /** Unregisters the connection from its key's sessions. */
  leaveSessions: () => void;
}

type Refs = { clientRef?: ClientRef; jobId?: string };

/**
 * The WebSocket side of CONTRACT section 6, without Fastify: each connection authenticates (by
 * header or by a first `auth` frame), then creates, subscribes to, unsubscribes from and cancels
 * jobs. Every subscription of every socket is fed by the process's one job event hub; a replay
 * is paced by the socket, a live event is sent at once, and a socket whose backlog grows past
 * the bound is closed rather than buffered without end. One timer pings all sockets.
 * (Longer than most files: one connection's state machine reads best in one place; the
 * subscription itself lives in ws-subscription.ts and frame parsing in ws-frames.ts.)
 */
export function createWsHub(deps: WsHubDeps, overrides: Partial<WsHubOptions> = {}) {
  const options = { ...defaultWsHubOptions, ...overrides };
  const connections = new Set<Connection>();
  let slowReadersClosed = 0;

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

  /** Sends a frame; `written` runs once it has been handed to the OS, or at once when it was not sent. */
  function send(connection: Connection, frame: object, written?: () => void): boolean {
    const open = !connection.closed && connection.socket.readyState === connection.socket.OPEN;
    // Judged before this frame: one large result is fine, a backlog that keeps growing is not.
    if (open && connection.socket.bufferedAmount > options.maxBufferedBytes) closeSlowReader(connection);
    if (connection.closed || !open) {
      written?.();
      return false;
    }
    connection.socket.send(JSON.stringify(frame), written && (() => written()));
    return true;
  }

  function sendError(connection: Connection, error: unknown, refs: Refs = {}) {
    // The same mapping as HTTP answers: a Redis outage is a 503, anything unknown a 500 that reveals nothing.
    const gatewayError = toHttpError(error instanceof Error ? error : new Error(String(error)));
    if (gatewayError.status >= 500) {
      deps.logger.error({ err: { message: gatewayError.message, code: gatewayError.code }, requestId: connection.requestId }, "websocket frame failed");
    }
    send(connection, {
      type: "error",
      error: gatewayError.toErrorObject(),
      ...(refs.jobId !== undefined ? { job_id: refs.jobId } : {}),
      ...(refs.clientRef !== undefined ? { client_ref: refs.clientRef } : {}),
    });
  }

  function closeSlowReader(connection: Connection) {
    if (connection.closed) return;
    slowReadersClosed++;
    deps.logger.warn({ requestId: connection.requestId, bufferedBytes: connection.socket.bufferedAmount }, "websocket slow reader closed");
    stopAll(connection);
    connection.closed = true;
    connection.socket.close(CLOSE_SLOW_READER, "slow reader: too much unread data");
    setTimeout(() => connection.socket.terminate(), SLOW_READER_GRACE_MS).unref();
  }

  function closeUnauthenticated(connection: Connection, message: string, reason = "authentication failed") {
    if (connection.closed) return;
    sendError(connection, new GatewayError("invalid_api_key", { message }));
    connection.closed = true;
    stopAll(connection);
    connection.socket.close(CLOSE_UNAUTHENTICATED, reason);
  }

  /** Indexes the connection under its key, so revoking the key closes it at once. */
  function joinSessions(connection: Connection, keyId: string) {
    const end = () => closeUnauthenticated(connection, REVOKED_KEY_MESSAGE, "API key revoked");
    connection.leaveSessions = deps.keySessions?.open(keyId, end) ?? (() => {});
  }

  function stopAll(connection: Connection) {
    for (const subscription of connection.subscriptions.values()) subscription.stop();
    connection.subscriptions.clear();
  }

  /** Subscribes the connection to a job (again, if it was: the new `after` wins). */
  function subscribe(connection: Connection, jobId: string, after: string | undefined) {
    connection.subscriptions.get(jobId)?.stop();
    const subscription: JobSubscription = subscribeToJob({
      hub: deps.hub,
      jobId,
      after,
      send: (frame, written) => send(connection, frame, written),
      onEnd: (error) => {
        if (connection.subscriptions.get(jobId) === subscription) connection.subscriptions.delete(jobId);
        if (error !== undefined) sendError(connection, error, { jobId });
      },
    });
    // Registered before its first read returns, so `onEnd` always finds it.
    connection.subscriptions.set(jobId, subscription);
  }

  /** The connection's principal, checked again now; null (and the connection closed) when the key no longer works. */
  async function currentPrincipal(connection: Connection): Promise<Principal | null> {
    if (connection.apiKey === null || connection.principal === null) return null;
    const principal = await deps.authenticator.authenticate(connection.apiKey);
    if (!principal) closeUnauthenticated(connection, "This API key is no longer valid.");
    return (connection.principal = principal);
  }

  async function handleFrame(connection: Connection, frame: ClientFrame) {
    const refs: Refs = { clientRef: frame.client_ref, jobId: "job_id" in frame ? frame.job_id : undefined };
    if (frame.type === "auth") return authenticate(connection, frame.api_key, refs);
    if (connection.principal === null) return closeUnauthenticated(connection, AUTHENTICATE_FIRST);
    const principal = await currentPrincipal(connection);
    if (!principal) return;
    if (frame.type !== "create" && deps.reads) {
      const read = await deps.reads.consume(principal.keyId);
      if (!read.allowed) throw readLimitError(read);
    }
    switch (frame.type) {
      case "create":
        return create(connection, principal, frame, refs);
      case "subscribe": {
        if (frame.after !== undefined && !isEventId(frame.after)) {
          throw new GatewayError("invalid_request", { message: "Invalid value for 'after': an event id such as 1764201600000-0.", param: "after" });
        }
        await deps.jobs.owned(principal, frame.job_id);
        if (atSubscriptionCap(connection, frame.job_id)) {
          throw new GatewayError("invalid_request", { message: `At most ${options.maxSubscriptionsPerConnection} subscriptions per connection.` });
        }
        subscribe(connection, frame.job_id, frame.after);
        return;
      }
      case "unsubscribe":
        connection.subscriptions.get(frame.job_id)?.stop();
        connection.subscriptions.delete(frame.job_id);
        send(connection, ack("unsubscribe", refs));
        return;
      case "cancel":
        await deps.jobs.cancel(principal, frame.job_id);
        send(connection, ack("cancel", refs));
        return;
    }
  }

  async function authenticate(connection: Connection, apiKey: string, refs: Refs) {
    if (connection.principal !== null) {
      throw new GatewayError("invalid_request", { message: "This connection is already authenticated." });
    }
    const principal = await deps.authenticator.authenticate(apiKey);
    if (connection.closed) return;
    if (!principal) return closeUnauthenticated(connection, "Incorrect API key in the auth frame.");
    if (deps.connectionLimiter) {
      try {
        connection.lease = await deps.connectionLimiter.acquire(principal.keyId, "sockets");
      } catch (error) {
        return closeRefused(connection, error);
      }
      // Closed while the slot was being taken: the close handler found no lease to give back.
      if (connection.closed) return connection.lease.release();
    }
    if (connection.authTimer) clearTimeout(connection.authTimer);
    connection.authTimer = null;
    connection.principal = principal;
    connection.apiKey = apiKey;
    joinSessions(connection, principal.keyId);
    send(connection, ack("auth", refs));
  }

  async function create(connection: Connection, principal: Principal, frame: Extract<ClientFrame, { type: "create" }>, refs: Refs) {
    if (deps.limiter) {
      const decision = await deps.limiter.check(principal.keyId, { perMinute: principal.rateLimitPerMinute, perHour: principal.rateLimitPerHour });
      if (!decision.allowed) {
        throw new GatewayError("rate_limit_exceeded", {
          message: `Rate limit reached: ${decision.limit} requests per ${decision.window} for this API key. Try again in ${decision.retryAfterSeconds ?? 1} s.`,
        });
      }
    }
    const { request, webhook, metadata } = frame;
    const { job } = await deps.jobs.submit(
      principal,
      { request, ...(webhook !== undefined ? { webhook } : {}), ...(metadata !== undefined ? { metadata } : {}) },
      { requestId: connection.requestId },
    );
    send(connection, { type: "job.created", job_id: job.id, client_ref: refs.clientRef ?? null });
    if (atSubscriptionCap(connection, job.id)) {
      // The job stands; only the automatic subscription is refused, and said so (never silently past the cap).
      const message = `Subscription limit reached: at most ${options.maxSubscriptionsPerConnection} subscriptions per connection. Job ${job.id} was created but this connection is not subscribed to it: unsubscribe from another job, then subscribe to it.`;
      return sendError(connection, new GatewayError("invalid_request", { message }), { jobId: job.id, clientRef: refs.clientRef });
    }
    subscribe(connection, job.id, undefined);
  }

  function atSubscriptionCap(connection: Connection, jobId: string): boolean {
    return !connection.subscriptions.has(jobId) && connection.subscriptions.size >= options.maxSubscriptionsPerConnection;
  }

  /** Refuses a frame-authenticated connection it could not give a slot: an error frame, then 4429 (over the cap) or 1013 (Redis down). */
  function closeRefused(connection: Connection, error: unknown) {
    sendError(connection, error);
    connection.closed = true;
    stopAll(connection);
    const overCap = error instanceof GatewayError && error.code === "too_many_connections";
    connection.socket.close(overCap ? CLOSE_TOO_MANY_CONNECTIONS : CLOSE_SLOW_READER, overCap ? "too many connections for this API key" : "try again later");
  }

  function onMessage(connection: Connection, data: RawData, isBinary: boolean) {
    connection.alive = true;
    if (connection.closed) return;
    // Nothing but a small auth frame is worth reading from a connection without a key.
    if (connection.principal === null && connection.pendingFrames === 0 && rawLength(data) > MAX_UNAUTHENTICATED_FRAME_BYTES) {
      return closeUnauthenticated(connection, `Authenticate first: a frame over ${MAX_UNAUTHENTICATED_FRAME_BYTES} bytes is not read from a connection without a key.`);
    }
    // Backpressure instead of refusal: a client that sends faster than its frames are handled waits in TCP.
    if (++connection.pendingFrames >= options.maxPendingFrames) connection.socket.pause();
    connection.work = connection.work.then(async () => {
      const parsed = parseClientFrame(data, isBinary);
      try {
        // A connection without a key gets one chance: its first frame is a valid auth frame, or it is closed.
        if (!parsed.ok) return connection.principal === null ? closeUnauthenticated(connection, AUTHENTICATE_FIRST) : sendError(connection, parsed.error, parsed);
        if (!connection.closed) await handleFrame(connection, parsed.frame);
      } catch (error) {
        const frame = parsed.ok ? parsed.frame : null;
        sendError(connection, error, { clientRef: frame?.client_ref, jobId: frame && "job_id" in frame ? frame.job_id : undefined });
      } finally {
        if (--connection.pendingFrames < options.maxPendingFrames) connection.socket.resume();
      }
    });
  }

  return {
    /**
     * Takes over an upgraded socket. `principal` and `apiKey` are set when the upgrade request
     * carried a valid key; otherwise the first frame must authenticate.
     */
    accept(socket: WebSocket, auth: { principal: Principal | null; apiKey: string | null; lease?: ConnectionLease }, requestId: string) {
      const connection: Connection = {
        socket,
        requestId,
        principal: auth.principal,
        apiKey: auth.principal ? auth.apiKey : null,
        alive: true,
        closed: false,
        subscriptions: new Map(),
        work: Promise.resolve(),
        pendingFrames: 0,
        authTimer: null,
        lease: auth.lease ?? null,
        leaveSessions: () => {},
      };
      connections.add(connection);
      deps.connectionGauge?.inc();
      if (connection.principal) joinSessions(connection, connection.principal.keyId);
      else {
        connection.authTimer = setTimeout(
          () => closeUnauthenticated(connection, `No auth frame within ${options.authTimeoutMs} ms: send {"type":"auth","api_key":"KEY"} first.`),
          options.authTimeoutMs,
        );
      }
      socket.on("pong", () => (connection.alive = true));
      socket.on("message", (data, isBinary) => onMessage(connection, data, isBinary));
      socket.once("close", () => {
        connection.closed = true;
        if (connection.authTimer) clearTimeout(connection.authTimer);
        connection.lease?.release();
        connection.leaveSessions();
        stopAll(connection);
        connections.delete(connection);
        deps.connectionGauge?.dec();
      });
    },

    /** Open connections, live subscriptions, and slow readers closed since start. */
    stats() {
      let subscriptions = 0;
      for (const connection of connections) subscriptions += connection.subscriptions.size;
      return { connections: connections.size, subscriptions, slowReadersClosed };
    },

    /** Stops the heartbeat and closes every socket (1001, going away). */
    close() {
      clearInterval(heartbeat);
      for (const connection of connections) {
        stopAll(connection);
        connection.closed = true;
        connection.socket.close(CLOSE_GOING_AWAY, "server shutting down");
      }
    },
  };
}

export type WsHub = ReturnType<typeof createWsHub>;

const AUTHENTICATE_FIRST = 'Authenticate first: send {"type":"auth","api_key":"KEY"} as the first frame.';

function rawLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((total, part) => total + part.byteLength, 0) : data.byteLength;
}

function ack(action: "auth" | "unsubscribe" | "cancel", refs: Refs) {
  return {
    type: "ack",
    action,
    ...(refs.jobId !== undefined ? { job_id: refs.jobId } : {}),
    ...(refs.clientRef !== undefined ? { client_ref: refs.clientRef } : {}),
  };
}
