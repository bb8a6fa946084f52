import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import { GatewayError } from "@llmgw/errors";
import { adminAuthHook } from "./admin-auth.js";
import { sendError, toHttpError } from "./error-handler.js";

export const QUEUE_DASHBOARD_PATH = "/admin/queues";
const COOKIE = "llmgw_queue_dashboard";
const SESSION_SECONDS = 8 * 3600;

export interface QueueDashboardOptions {
  /** The BullMQ queues to show. */
  queues: Queue[];
  /** ADMIN_TOKEN; unset = the dashboard answers 403 like the admin API. */
  adminToken: string | undefined;
}

/**
 * bull-board at /admin/queues, behind the admin token. Scripts send `Authorization: Bearer
 * ADMIN_TOKEN`; a browser, which cannot, opens `/admin/queues?token=ADMIN_TOKEN` once and gets an
 * HttpOnly, SameSite=Strict cookie holding a signed expiry (never the token). bull-board hides its
 * own routes from the OpenAPI document.
 */
export async function queueDashboard(app: FastifyInstance, options: QueueDashboardOptions) {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: "llm-gateway" } },
  });
  app.addHook("onRequest", dashboardGuard(options.adminToken));
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
}

/**
 * Answers refusals itself rather than throwing: bull-board installs its own error handler in its
 * scope, which would turn a 401 into a 500 without the OpenAI error shape.
 */
function dashboardGuard(adminToken: string | undefined) {
  const checkBearer = adminAuthHook(adminToken);
  const session = adminToken ? sessionCookie(adminToken) : null;
  return async function guardDashboard(request: FastifyRequest, reply: FastifyReply) {
    try {
      const queryToken = (request.query as { token?: unknown } | undefined)?.token;
      if (session && typeof queryToken === "string") {
        if (!sameSecret(queryToken, adminToken ?? "")) throw new GatewayError("invalid_admin_token");
        return startSession(request, reply, session.issue());
      }
      if (session?.verify(readCookie(request.headers.cookie, COOKIE))) return;
      await checkBearer(request);
    } catch (error) {
      return sendError(reply, toHttpError(error as Error));
    }
  };
}

/** Sets the session cookie and sends the browser back to the same page without the token in its URL. */
function startSession(request: FastifyRequest, reply: FastifyReply, value: string) {
  const url = new URL(request.url, "http://gateway.invalid");
  url.searchParams.delete("token");
  const secure = request.protocol === "https" ? "; Secure" : "";
  return reply
    .header("set-cookie", `${COOKIE}=${value}; Path=${QUEUE_DASHBOARD_PATH}; Max-Age=${SESSION_SECONDS}; HttpOnly; SameSite=Strict${secure}`)
    .header("cache-control", "no-store")
    .header("referrer-policy", "no-referrer")
    .redirect(url.pathname + url.search, 303);
}

/** A cookie value of `expiry.signature`, signed with a key derived from the admin token. */
function sessionCookie(adminToken: string) {
  const key = createHash("sha256").update(`llmgw queue dashboard session\0${adminToken}`).digest();
  const sign = (expiry: string) => createHmac("sha256", key).update(expiry).digest("base64url");
  return {
    issue: () => {
      const expiry = String(Math.floor(Date.now() / 1000) + SESSION_SECONDS);
      return `${expiry}.${sign(expiry)}`;
    },
    verify: (value: string | undefined) => {
      const [expiry, signature] = (value ?? "").split(".", 2);
      if (!expiry || !signature || !/^\d+$/.test(expiry) || Number(expiry) * 1000 < Date.now()) return false;
      return sameSecret(signature, sign(expiry));
    },
  };
}

function sameSecret(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}
