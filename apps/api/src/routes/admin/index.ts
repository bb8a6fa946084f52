import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../../context.js";
import { adminAuthHook, type AdminGuard, type ConsoleSessionCheck } from "../../plugins/admin-auth.js";
import { adminApiKeyRoutes } from "./api-keys.js";
import { adminChannelRoutes } from "./channels.js";
import { adminJobRoutes } from "./jobs.js";
import { adminStatsRoutes } from "./stats.js";
import { adminUsageRoutes } from "./usage.js";
import { adminUserRoutes } from "./users.js";

/**
 * The admin API under /api/v1/admin, every route behind `Authorization: Bearer ADMIN_TOKEN`
 * (checked by `guard`, which also throttles failed logins per address) or a console session.
 */
export async function adminRoutes(app: FastifyInstance, options: { context: ApiContext; guard: AdminGuard; sessions?: ConsoleSessionCheck }) {
  const { context, guard, sessions } = options;
  await app.register(
    async (scope) => {
      scope.addHook("onRequest", adminAuthHook(guard, sessions));
      await scope.register(adminUserRoutes, context);
      await scope.register(adminApiKeyRoutes, context);
      await scope.register(adminStatsRoutes, context);
      await scope.register(adminChannelRoutes, context);
      await scope.register(adminUsageRoutes, context);
      await scope.register(adminJobRoutes, context);
    },
    { prefix: "/api/v1/admin" },
  );
}
