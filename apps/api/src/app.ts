import websocket from "@fastify/websocket";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { ApiContext } from "./context.js";
import { createAdminGuard } from "./plugins/admin-auth.js";
import { createConsoleSessionCheck } from "./plugins/console-session.js";
import { clientAuthHook, decorateClientAuth } from "./plugins/client-auth.js";
import { answerClientError } from "./plugins/client-errors.js";
import { errorHandlerPlugin } from "./plugins/error-handler.js";
import { jsonBodyParser } from "./plugins/json-body.js";
import { observeRequests } from "./plugins/metrics.js";
import { queueDashboard } from "./plugins/queue-dashboard.js";
import { openApiPlugin } from "./plugins/openapi.js";
import { requestIdFor } from "./plugins/request-id.js";
import { adminRoutes } from "./routes/admin/index.js";
import { consoleRoutes } from "./routes/console/index.js";
import { chatCompletionRoutes } from "./routes/chat-completions/index.js";
import { healthRoutes } from "./routes/health/index.js";
import { jobRoutes } from "./routes/jobs/index.js";
import { metricsRoutes } from "./routes/metrics/index.js";
import { modelRoutes } from "./routes/models/index.js";
import { webSocketRoutes } from "./routes/ws/index.js";

export interface BuildAppOptions {
  /** The built web console (apps/console/dist by default); tests point it elsewhere. */
  consoleDirectory?: string;
}

/** The Fastify app: plugins, then routes, in one visible order. Tests drive it with `inject`. */
export async function buildApp(context: ApiContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config } = context;
  const app = Fastify({
    loggerInstance: context.logger as FastifyBaseLogger,
    genReqId: requestIdFor,
    bodyLimit: config.maxBodyBytes,
    // Slow clients: these bound receiving a request (headers, then all of it) and idle connections.
    // None bounds an answer: a long synchronous wait or SSE stream runs after the request is received.
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      // How often Node looks for requests past those limits (its default, 30 s, would add as much).
      connectionsCheckingInterval: 1000,
    },
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    clientErrorHandler: answerClientError,
    // Fastify takes a hop count too, but its types do not: as a function, "the nearest N proxies".
    trustProxy: typeof config.trustProxy === "number" ? trustNearestHops(config.trustProxy) : config.trustProxy,
    // One line per request from our onResponse hook instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    // Validate exactly what was sent: no coercion, no defaults, nothing removed.
    // allowUnionTypes: metadata values are `type: [string, number, boolean, null]` (schemas/jobs.ts).
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
  });

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      "request",
    );
  });
  // Called, not registered: both must apply to the whole app, outside any encapsulated scope.
  await errorHandlerPlugin(app);
  jsonBodyParser(app);
  await openApiPlugin(app);
  decorateClientAuth(app);
  observeRequests(app, context.metrics);
  // Before any route: it turns `websocket: true` routes into upgrade handlers. On close the hub says goodbye (1001).
  await app.register(websocket, {
    options: { maxPayload: config.maxBodyBytes },
    preClose: (done) => {
      context.wsHub.close();
      done();
    },
  });

  await app.register(healthRoutes, context);
  await app.register(metricsRoutes, { metrics: context.metrics, token: config.metricsToken });
  // One admin check for the admin API and the dashboard, so failed logins count together per address.
  const adminGuard = createAdminGuard(config.adminToken, context.adminLoginThrottle);
  await app.register(queueDashboard, { queues: [context.queue, context.webhookQueue], adminToken: config.adminToken, guard: adminGuard });
  // The admin API also admits the web console's session cookie (with a CSRF check on changes).
  await app.register(adminRoutes, { context, guard: adminGuard, sessions: createConsoleSessionCheck(context.consoleSessions) });
  await app.register(consoleRoutes, { sessions: context.consoleSessions, guard: adminGuard, directory: options.consoleDirectory });

  // Client routes exist under /v1 (OpenAI SDK convention) and /api/v1 (the original service's paths).
  for (const prefix of ["/v1", "/api/v1"]) {
    await app.register(
      async (scope) => {
        // Authentication on the headers alone, before the body is read; limits after it (they
        // need the principal, and a route's whileLimiting may read the body).
        scope.addHook("onRequest", clientAuthHook(context.authenticator));
        if (context.rateLimit) scope.addHook("preHandler", context.rateLimit);
        await scope.register(chatCompletionRoutes, context);
        await scope.register(modelRoutes, context);
        await scope.register(jobRoutes, context);
      },
      { prefix },
    );
    // Browsers cannot set headers on a WebSocket, so /ws authenticates by header or by its first frame.
    await app.register(async (scope) => scope.register(webSocketRoutes, context), { prefix });
  }
  return app;
}

/** Trusts the `hops` proxies nearest to the server, as Fastify does for a numeric `trustProxy`. */
function trustNearestHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}
