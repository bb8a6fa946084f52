import type { TestProject } from "vitest/node";
import { startRedisServer } from "../libs/testing/src/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One private redis-server for the run; each test file uses its own key prefix on it. */
export default async function setup(project: TestProject) {
  const redis = await startRedisServer();
  project.provide("redisUrl", redis.url);
  return async () => {
    await redis.destroy();
  };
}
