import type { WebSocket } from "ws";
import { GatewayError } from "@llmgw/errors";
import type { Logger } from "@llmgw/logger";
import { toHttpError } from "./http-errors.js";
import type { Principal } from "./client-auth.js";
import type { ConnectionLease } from "./connection-limiter.js";
import type { ClientRef } from "./ws-frames.js";
import type { JobSubscription } from "./ws-subscription.js";

/** Close codes: 4401 = authentication failed or missing (HTTP 401 in the 4000 range); 1013 = try again later. */
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_SLOW_READER = 1013;
/** The key already holds MAX_WEBSOCKETS_PER_KEY connections (HTTP 429 in the 4000 range). */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
export const CLOSE_GOING_AWAY = 1001;
/** After closing a slow reader, how long its backlog may still drain before the socket is destroyed. */
const SLOW_READER_GRACE_MS = 2_000;

/** One socket's state, from upgrade to close. */
export interface WsConnection {
  socket: WebSocket;
  requestId: string;
  principal: Principal | null;
  /** Kept to re-check the key on each action frame: a revoked key stops working here too. */
  apiKey: string | null;
  /** The client's address (request.ip of the upgrade), for the key's allow-list. */
  clientAddress: string;
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

/** What a frame's answers echo, so the client can match them to it. */
export type FrameRefs = { clientRef?: ClientRef; jobId?: string };

/** What the upgrade request proved: a key from its headers (and the slot taken for it), or nothing yet. */
export interface WsUpgradeAuth {
  principal: Principal | null;
  apiKey: string | null;
  lease?: ConnectionLease;
  clientAddress: string;
}

export function newWsConnection(socket: WebSocket, auth: WsUpgradeAuth, requestId: string): WsConnection {
  return {
    socket,
    requestId,
    principal: auth.principal,
    apiKey: auth.principal ? auth.apiKey : null,
    clientAddress: auth.clientAddress,
    alive: true,
    closed: false,
    subscriptions: new Map(),
    work: Promise.resolve(),
    pendingFrames: 0,
    authTimer: null,
    lease: auth.lease ?? null,
    leaveSessions: () => {},
  };
}

export function stopSubscriptions(connection: WsConnection) {
  for (const subscription of connection.subscriptions.values()) subscription.stop();
  connection.subscriptions.clear();
}

export function ackFrame(action: "auth" | "unsubscribe" | "cancel", refs: FrameRefs) {
  return {
    type: "ack",
    action,
    ...(refs.jobId !== undefined ? { job_id: refs.jobId } : {}),
    ...(refs.clientRef !== undefined ? { client_ref: refs.clientRef } : {}),
  };
}

export interface WsOutboundOptions {
  logger: Logger;
  /** A connection with more unsent bytes than this when an event is due is a slow reader and is closed. */
  maxBufferedBytes: number;
}

/**
 * Everything that leaves a connection: frames, error frames, and the closes that end it. Kept
 * together because sending is where a slow reader is noticed, and every close stops the
 * connection's subscriptions first so no frame is queued behind it.
 */
export function createWsOutbound(options: WsOutboundOptions) {
  let slowReadersClosed = 0;

  /** Sends a frame; `written` runs once it has been handed to the OS, or at once when it was not sent. */
  function send(connection: WsConnection, frame: object, written?: () => void): boolean {
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

  function sendError(connection: WsConnection, error: unknown, refs: FrameRefs = {}) {
    // The same mapping as HTTP answers: a Redis outage is a 503, anything unknown a 500 that reveals nothing.
    const gatewayError = toHttpError(error instanceof Error ? error : new Error(String(error)));
    if (gatewayError.status >= 500) {
      options.logger.error({ err: { message: gatewayError.message, code: gatewayError.code }, requestId: connection.requestId }, "websocket frame failed");
    }
    send(connection, {
      type: "error",
      error: gatewayError.toErrorObject(),
      ...(refs.jobId !== undefined ? { job_id: refs.jobId } : {}),
      ...(refs.clientRef !== undefined ? { client_ref: refs.clientRef } : {}),
    });
  }

  function closeSlowReader(connection: WsConnection) {
    if (connection.closed) return;
    slowReadersClosed++;
    options.logger.warn({ requestId: connection.requestId, bufferedBytes: connection.socket.bufferedAmount }, "websocket slow reader closed");
    stopSubscriptions(connection);
    connection.closed = true;
    connection.socket.close(CLOSE_SLOW_READER, "slow reader: too much unread data");
    setTimeout(() => connection.socket.terminate(), SLOW_READER_GRACE_MS).unref();
  }

  function closeUnauthenticated(connection: WsConnection, message: string, reason = "authentication failed") {
    if (connection.closed) return;
    sendError(connection, new GatewayError("invalid_api_key", { message }));
    connection.closed = true;
    stopSubscriptions(connection);
    connection.socket.close(CLOSE_UNAUTHENTICATED, reason);
  }

  /** Refuses a frame-authenticated connection it could not give a slot: an error frame, then 4429 (over the cap) or 1013 (Redis down). */
  function closeRefused(connection: WsConnection, error: unknown) {
    sendError(connection, error);
    connection.closed = true;
    stopSubscriptions(connection);
    const overCap = error instanceof GatewayError && error.code === "too_many_connections";
    connection.socket.close(overCap ? CLOSE_TOO_MANY_CONNECTIONS : CLOSE_SLOW_READER, overCap ? "too many connections for this API key" : "try again later");
  }

  function closeGoingAway(connection: WsConnection) {
    stopSubscriptions(connection);
    connection.closed = true;
    connection.socket.close(CLOSE_GOING_AWAY, "server shutting down");
  }

  return { send, sendError, closeUnauthenticated, closeRefused, closeGoingAway, slowReadersClosed: () => slowReadersClosed };
}

export type WsOutbound = ReturnType<typeof createWsOutbound>;
