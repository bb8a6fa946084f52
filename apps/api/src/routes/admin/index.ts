import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../../context.js";
import { adminAuthHook, type AdminGuard } from "../../plugins/admin-auth.js";
import { adminApiKeyRoutes } from "./api-keys.js";
import { adminChannelRoutes } from "./channels.js";
import { adminStatsRoutes } from "./stats.js";
import { adminUserRoutes } from "./users.js";

/**
 * The admin API under /api/v1/admin, every route behind `Authorization: Bearer ADMIN_TOKEN`
 * (checked by `guard`, which also throttles failed logins per address).
 */
export async function adminRoutes(app: FastifyInstance, options: { context: ApiContext; guard: AdminGuard }) {
  const { context, guard } = options;
  await app.register(
    async (scope) => {
      scope.addHook("onRequest", adminAuthHook(guard));
      await scope.register(adminUserRoutes, context);
      await scope.register(adminApiKeyRoutes, context);
      await scope.register(adminStatsRoutes, context);
      await scope.register(adminChannelRoutes, context);
    },
    { prefix: "/api/v1/admin" },
  );
}
