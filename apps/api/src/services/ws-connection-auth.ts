import type { RawData } from "ws";
import { GatewayError } from "@llmgw/errors";
import { checkClientAddress, type ClientAuthenticator, type Principal } from "./client-auth.js";
import type { ConnectionLimiter } from "./connection-limiter.js";
import { REVOKED_KEY_MESSAGE, type KeySessions } from "./key-sessions.js";
import { ackFrame, type FrameRefs, type WsConnection, type WsOutbound } from "./ws-connection.js";

export const AUTHENTICATE_FIRST = 'Authenticate first: send {"type":"auth","api_key":"KEY"} as the first frame.';
/** An unauthenticated connection's frame larger than this is not even parsed: an auth frame is small. */
const MAX_UNAUTHENTICATED_FRAME_BYTES = 4096;

export interface WsConnectionAuthDeps {
  authenticator: ClientAuthenticator;
  outbound: WsOutbound;
  /** A connection authenticated by its `auth` frame takes its slot of MAX_WEBSOCKETS_PER_KEY here. */
  connectionLimiter?: ConnectionLimiter;
  /** Authenticated connections are registered here under their key; a revocation closes them (4401). */
  keySessions?: KeySessions;
  /** A connection without a header key must send its `auth` frame within this. */
  authTimeoutMs: number;
}

/**
 * A connection's key: taken from the upgrade headers or from a first `auth` frame, then checked
 * again before every action, because a key revoked on another instance must stop working on
 * sockets that are already open here.
 */
export function createWsConnectionAuth(deps: WsConnectionAuthDeps) {
  const { outbound } = deps;

  /** Indexes the connection under its key, so revoking the key closes it at once. */
  function joinSessions(connection: WsConnection, keyId: string) {
    const end = () => outbound.closeUnauthenticated(connection, REVOKED_KEY_MESSAGE, "API key revoked");
    connection.leaveSessions = deps.keySessions?.open(keyId, end) ?? (() => {});
  }

  /** A new connection: registered under its header key, or given `authTimeoutMs` to send its auth frame. */
  function begin(connection: WsConnection) {
    if (connection.principal) return joinSessions(connection, connection.principal.keyId);
    connection.authTimer = setTimeout(
      () => outbound.closeUnauthenticated(connection, `No auth frame within ${deps.authTimeoutMs} ms: send {"type":"auth","api_key":"KEY"} first.`),
      deps.authTimeoutMs,
    );
  }

  /** Closes a connection without a key that sends more than an auth frame could be; true when it did. */
  function refuseOversizedFrame(connection: WsConnection, data: RawData): boolean {
    if (connection.principal !== null || connection.pendingFrames !== 0 || rawLength(data) <= MAX_UNAUTHENTICATED_FRAME_BYTES) return false;
    outbound.closeUnauthenticated(connection, `Authenticate first: a frame over ${MAX_UNAUTHENTICATED_FRAME_BYTES} bytes is not read from a connection without a key.`);
    return true;
  }

  async function authenticateByFrame(connection: WsConnection, apiKey: string, refs: FrameRefs) {
    if (connection.principal !== null) {
      throw new GatewayError("invalid_request", { message: "This connection is already authenticated." });
    }
    const principal = await deps.authenticator.authenticate(apiKey);
    if (connection.closed) return;
    if (!principal) return outbound.closeUnauthenticated(connection, "Incorrect API key in the auth frame.");
    try {
      checkClientAddress(principal, connection.clientAddress);
    } catch (error) {
      return outbound.closeUnauthenticated(connection, (error as GatewayError).message);
    }
    if (deps.connectionLimiter) {
      try {
        connection.lease = await deps.connectionLimiter.acquire(principal.keyId, "sockets");
      } catch (error) {
        return outbound.closeRefused(connection, error);
      }
      // Closed while the slot was being taken: the close handler found no lease to give back.
      if (connection.closed) return connection.lease.release();
    }
    if (connection.authTimer) clearTimeout(connection.authTimer);
    connection.authTimer = null;
    connection.principal = principal;
    connection.apiKey = apiKey;
    joinSessions(connection, principal.keyId);
    outbound.send(connection, ackFrame("auth", refs));
  }

  /** The connection's principal, checked again now; null (and the connection closed) when the key no longer works. */
  async function currentPrincipal(connection: WsConnection): Promise<Principal | null> {
    if (connection.apiKey === null || connection.principal === null) return null;
    const principal = await deps.authenticator.authenticate(connection.apiKey);
    if (!principal) outbound.closeUnauthenticated(connection, "This API key is no longer valid.");
    return (connection.principal = principal);
  }

  return { begin, refuseOversizedFrame, authenticateByFrame, currentPrincipal };
}

export type WsConnectionAuthStep = ReturnType<typeof createWsConnectionAuth>;

function rawLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((total, part) => total + part.byteLength, 0) : data.byteLength;
}
