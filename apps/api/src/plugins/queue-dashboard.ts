import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Queue } from "bullmq";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import { GatewayError } from "@llmgw/errors";
import { bearerToken, type AdminGuard } from "./admin-auth.js";
import { toHttpError } from "../services/http-errors.js";
import { sendError } from "./error-handler.js";

export const QUEUE_DASHBOARD_PATH = "/admin/queues";
export const QUEUE_DASHBOARD_LOGIN_PATH = `${QUEUE_DASHBOARD_PATH}/login`;
const COOKIE = "llmgw_queue_dashboard";
const SESSION_SECONDS = 8 * 3600;

export interface QueueDashboardOptions {
  /** The BullMQ queues to show. */
  queues: Queue[];
  /** ADMIN_TOKEN; unset = the dashboard answers 403 like the admin API. */
  adminToken: string | undefined;
  /** The admin token check, with the failed-login throttle the admin API shares. */
  guard: AdminGuard;
}

/**
 * bull-board at /admin/queues, behind the admin token. Scripts send `Authorization: Bearer
 * ADMIN_TOKEN`; a browser, which cannot, signs in once with the form at /admin/queues/login (the
 * token goes in a POST body, never in a URL, where history, proxies and access logs would keep it)
 * and gets an HttpOnly, SameSite=Strict cookie holding a signed expiry (never the token), `Secure`
 * when the request came over TLS (directly, or through a proxy trusted by TRUST_PROXY). bull-board
 * hides its own routes from the OpenAPI document.
 */
export async function queueDashboard(app: FastifyInstance, options: QueueDashboardOptions) {
  const session = options.adminToken ? sessionCookie(options.adminToken) : null;
  await app.register(async (scope) => loginRoutes(scope, options.guard, session), { prefix: QUEUE_DASHBOARD_PATH });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: "llm-gateway" } },
  });
  await app.register(
    async (scope) => {
      scope.addHook("onRequest", dashboardGuard(options.guard, session));
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}

type Session = ReturnType<typeof sessionCookie>;

/** GET: the sign-in form. POST (form-encoded `token`): the session cookie and a redirect to the dashboard. */
async function loginRoutes(scope: FastifyInstance, guard: AdminGuard, session: Session | null) {
  scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  const hidden = { schema: { hide: true } };
  scope.get("/login", hidden, async (_request, reply) => {
    if (!session) return sendError(reply, new GatewayError("admin_disabled"));
    return reply
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .header("content-security-policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
      .send(LOGIN_PAGE);
  });
  scope.post("/login", hidden, async (request, reply) => {
    const token = (request.body as { token?: unknown } | undefined)?.token;
    try {
      guard.check(request, typeof token === "string" ? token : undefined);
    } catch (error) {
      return sendError(reply, toHttpError(error as Error));
    }
    return startSession(request, reply, (session as Session).issue());
  });
}

/**
 * Answers refusals itself rather than throwing: bull-board installs its own error handler in its
 * scope, which would turn a 401 into a 500 without the OpenAI error shape.
 */
function dashboardGuard(guard: AdminGuard, session: Session | null) {
  return async function guardDashboard(request: FastifyRequest, reply: FastifyReply) {
    try {
      if (!session) return guard.check(request, undefined); // throws 403: the dashboard is disabled
      if (new URL(request.url, "http://gateway.invalid").searchParams.has("token")) {
        throw new GatewayError("invalid_request", {
          message: `The admin token never goes in a URL (browser history, proxies and access logs keep URLs): sign in at ${QUEUE_DASHBOARD_LOGIN_PATH} or send 'Authorization: Bearer ADMIN_TOKEN'.`,
          param: "token",
        });
      }
      if (session.verify(readCookie(request.headers.cookie, COOKIE))) return;
      const presented = bearerToken(request.headers.authorization);
      // A browser with no credentials at all is shown the sign-in form rather than a JSON error.
      if (presented === undefined && request.method === "GET" && /\btext\/html\b/.test(request.headers.accept ?? "")) {
        return reply.header("cache-control", "no-store").redirect(QUEUE_DASHBOARD_LOGIN_PATH, 303);
      }
      guard.check(request, presented);
    } catch (error) {
      return sendError(reply, toHttpError(error as Error));
    }
  };
}

/** Sets the session cookie and sends the browser to the dashboard. */
function startSession(request: FastifyRequest, reply: FastifyReply, value: string) {
  // request.protocol is "https" over TLS, or when a proxy trusted by TRUST_PROXY says X-Forwarded-Proto: https.
  const secure = request.protocol === "https" ? "; Secure" : "";
  return reply
    .header("set-cookie", `${COOKIE}=${value}; Path=${QUEUE_DASHBOARD_PATH}; Max-Age=${SESSION_SECONDS}; HttpOnly; SameSite=Strict${secure}`)
    .header("cache-control", "no-store")
    .header("referrer-policy", "no-referrer")
    .redirect(QUEUE_DASHBOARD_PATH, 303);
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

const LOGIN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>llm-gateway queues: sign in</title></head>
<body>
<h1>llm-gateway queue dashboard</h1>
<form method="post" action="${QUEUE_DASHBOARD_LOGIN_PATH}">
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button>
</form>
</body>
</html>
`;
