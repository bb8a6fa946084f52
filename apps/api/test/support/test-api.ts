import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { inject } from "vitest";
import { loadConfig } from "@llmgw/config";
import { createLogger } from "@llmgw/logger";
import { buildApp } from "../../src/app.js";
import { createApiContext, type ApiContext, type ApiContextOptions } from "../../src/context.js";

export interface TestApi {
  app: FastifyInstance;
  context: ApiContext;
  close(): Promise<void>;
}

/**
 * The API in-process for `app.inject`: the test run's private Redis under a prefix of its own
 * and a fresh SQLite file, so nothing is shared with other tests.
 */
export async function startTestApi(env: Record<string, string> = {}, options: ApiContextOptions = {}): Promise<TestApi> {
  const config = loadConfig({
    REDIS_URL: inject("redisUrl"),
    QUEUE_PREFIX: `test-${randomUUID()}`,
    DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-api-test-")), "gateway.db"),
    ...env,
  });
  const context = await createApiContext(config, createLogger({ level: "silent" }), options);
  const app = await buildApp(context);
  // injectWS, unlike inject, does not wait for the app to be ready.
  await app.ready();
  return {
    app,
    context,
    async close() {
      await app.close();
      await context.close();
    },
  };
}
