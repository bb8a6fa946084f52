import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { freePort, spawnApp, startGateway, startMockUpstream, type GatewayProcess, type GatewayStack, type MockUpstream } from "@llmgw/testing";

export interface TwoApiInstances {
  mock: MockUpstream;
  gateway: GatewayStack;
  /** The two API instances' base URLs: the gateway's own, then the second one. */
  instances: [string, string];
  /** The SQLite file both instances share, in a temp folder of its own. */
  databasePath: string;
  folder: string;
  /** A connection to the test run's Redis. */
  redis: Redis;
  stop(): Promise<void>;
}

/**
 * Two built API processes and a worker sharing one Redis (under `prefix`) and one SQLite file,
 * with database keys and the mock upstream standing in for DeepSeek; `env` adds to that.
 */
export async function startTwoApiInstances(options: { prefix: string; adminToken: string; env?: Record<string, string> }): Promise<TwoApiInstances> {
  const folder = mkdtempSync(join(tmpdir(), "llmgw-two-apis-"));
  const databasePath = join(folder, "gateway.db");
  const mock = await startMockUpstream();
  const gateway = await startGateway({
    workers: 1,
    env: {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: options.prefix,
      DATABASE_PATH: databasePath,
      ADMIN_TOKEN: options.adminToken,
      USE_DATABASE_AUTH: "true",
      DEEPSEEK_API_KEY: `sk-provider-${options.prefix}`,
      DEEPSEEK_BASE_URL: mock.url,
      ...options.env,
    },
  });
  // The second instance starts once the first has created and migrated the database.
  const port = await freePort();
  const secondApi: GatewayProcess = spawnApp("api", { ...gateway.env, PORT: String(port) }, "api-2");
  await secondApi.waitForLine(/Server listening/);
  const redis = new Redis(inject("redisUrl"));
  return {
    mock,
    gateway,
    instances: [gateway.url, `http://127.0.0.1:${port}`],
    databasePath,
    folder,
    redis,
    async stop() {
      await secondApi.stop();
      await gateway.stop();
      await mock.close();
      redis.disconnect();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
