import type { FastifyInstance } from "fastify";
import type { AdminGuard } from "../../plugins/admin-auth.js";
import { checkConsoleCsrf, sessionIdOf, setSessionCookie } from "../../plugins/console-session.js";
import { adminFailuresError, errorBodySchema } from "../../schemas/error-responses.js";
import { CONSOLE_SESSION_SECONDS, type ConsoleSessions } from "../../services/console-sessions.js";

const sessionSchema = {
  type: "object",
  required: ["object", "signed_in", "expires_in"],
  properties: {
    object: { type: "string", enum: ["console_session"] },
    signed_in: { type: "boolean" },
    expires_in: { type: "integer", description: "Seconds the session lasts from sign-in" },
  },
} as const;

const signInBody = {
  type: "object",
  required: ["token"],
  additionalProperties: false,
  properties: { token: { type: "string", minLength: 1, maxLength: 1024, description: "ADMIN_TOKEN" } },
} as const;

const docs = { tags: ["console"], security: [] } as const;
const csrfHeader = {
  type: "object",
  properties: { "x-console-csrf": { type: "string", enum: ["1"], description: "Required: the console's CSRF header" } },
} as const;

/**
 * The console's sign-in: POST /console/api/session exchanges ADMIN_TOKEN (in the body, never in a
 * URL) for a session cookie; GET tells whether the cookie is live; DELETE signs out. Failed sign-ins
 * count in the same login throttle as the admin API's wrong bearer tokens.
 */
export async function consoleSessionRoutes(app: FastifyInstance, options: { sessions: ConsoleSessions; guard: AdminGuard }) {
  const { sessions, guard } = options;

  app.post<{ Body: { token: string } }>(
    "/console/api/session",
    {
      // Before the body: a cross-site form post is refused unread.
      onRequest: async (request) => checkConsoleCsrf(request),
      schema: {
        ...docs,
        summary: "Console sign-in: ADMIN_TOKEN for an HttpOnly session cookie",
        headers: csrfHeader,
        body: signInBody,
        response: { 200: sessionSchema, 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 429: adminFailuresError, 503: errorBodySchema },
      },
    },
    async (request, reply) => {
      guard.check(request, request.body.token);
      const id = await sessions.create();
      setSessionCookie(request, reply, id);
      return reply.header("cache-control", "no-store").send({ object: "console_session", signed_in: true, expires_in: CONSOLE_SESSION_SECONDS });
    },
  );

  app.get(
    "/console/api/session",
    { schema: { ...docs, summary: "Whether the console session cookie is live", response: { 200: sessionSchema, 503: errorBodySchema } } },
    async (request, reply) => {
      const id = sessionIdOf(request);
      const signedIn = id !== undefined && (await sessions.isValid(id));
      return reply.header("cache-control", "no-store").send({ object: "console_session", signed_in: signedIn, expires_in: signedIn ? CONSOLE_SESSION_SECONDS : 0 });
    },
  );

  app.delete(
    "/console/api/session",
    {
      onRequest: async (request) => checkConsoleCsrf(request),
      schema: { ...docs, summary: "Console sign-out: ends the session everywhere", headers: csrfHeader, response: { 204: { type: "null" }, 403: errorBodySchema, 503: errorBodySchema } },
    },
    async (request, reply) => {
      const id = sessionIdOf(request);
      if (id !== undefined) await sessions.destroy(id);
      setSessionCookie(request, reply, "", 0);
      return reply.code(204).send();
    },
  );
}
