import type { TestProject } from "vitest/node";
import { startPostgresServer, startRedisServer } from "../libs/testing/src/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** The private PostgreSQL server's `postgres` database; each test file creates its own database on it. */
    postgresUrl: string;
  }
}

/**
 * One private redis-server and one private PostgreSQL for the run: each test file uses its own key
 * prefix on the first and its own database on the second.
 */
export default async function setup(project: TestProject) {
  const [redis, postgres] = await Promise.all([startRedisServer(), startPostgresServer()]);
  project.provide("redisUrl", redis.url);
  project.provide("postgresUrl", postgres.url);
  return async () => {
    await Promise.all([redis.destroy(), postgres.stop()]);
  };
}
