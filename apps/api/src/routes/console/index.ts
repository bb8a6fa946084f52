import type { FastifyInstance } from "fastify";
import type { AdminGuard } from "../../plugins/admin-auth.js";
import { consoleAssets } from "../../plugins/console-assets.js";
import { sessionIdOf } from "../../plugins/console-session.js";
import type { ConsoleSessions } from "../../services/console-sessions.js";
import { consoleSessionRoutes } from "./session.js";

export interface ConsoleRoutesOptions {
  sessions: ConsoleSessions;
  guard: AdminGuard;
  /** The built console (apps/console/dist unless a test says otherwise). */
  directory?: string;
}

/** The web console: its session routes under /console/api and its pages and assets under /console. */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions) {
  const { sessions, guard } = options;
  await app.register(consoleSessionRoutes, { sessions, guard });
  await app.register(consoleAssets, {
    directory: options.directory,
    signedIn: async (request) => {
      const id = sessionIdOf(request);
      return id !== undefined && (await sessions.isValid(id));
    },
  });
}
