import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../../context.js";
import { adminAuthHook } from "../../plugins/admin-auth.js";
import { adminApiKeyRoutes } from "./api-keys.js";
import { adminStatsRoutes } from "./stats.js";
import { adminUserRoutes } from "./users.js";

/** The admin API under /api/v1/admin, every route behind `Authorization: Bearer ADMIN_TOKEN`. */
export async function adminRoutes(app: FastifyInstance, context: ApiContext) {
  await app.register(
    async (scope) => {
      scope.addHook("onRequest", adminAuthHook(context.config.adminToken));
      await scope.register(adminUserRoutes, context);
      await scope.register(adminApiKeyRoutes, context);
      await scope.register(adminStatsRoutes, context);
    },
    { prefix: "/api/v1/admin" },
  );
}
