import { randomUUID } from "node:crypto";
import OpenAI from "openai";
import { inject } from "vitest";
import { startGateway, startMockUpstream, type GatewayStack, type MockUpstream } from "@llmgw/testing";

export interface MockedGateway {
  mock: MockUpstream;
  gateway: GatewayStack;
  /** A static client key (`API_KEYS`) and the provider key the mock receives. */
  clientKey: string;
  providerKey: string;
  /** This stack's QUEUE_PREFIX: its Redis keys and nobody else's. */
  prefix: string;
  /** The official openai client, pointed at the gateway with the client key, retries off. */
  client: OpenAI;
  /** How many upstream calls carried `tag` (a unique text in the request) so far. */
  callsWith(tag: string): number;
  /** POSTs a JSON chat completion request as a raw HTTP client would. */
  complete(body: unknown, init?: { signal?: AbortSignal; headers?: Record<string, string> }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The built API and `workers` workers as real processes, the mock upstream standing in for
 * DeepSeek, on the test run's private Redis (or `env.REDIS_URL`) under a prefix of their own.
 */
export async function startMockedGateway(options: { workers?: number; env?: Record<string, string> } = {}): Promise<MockedGateway> {
  const mock = await startMockUpstream();
  const clientKey = `gw-e2e${randomUUID().replace(/-/g, "")}`;
  const providerKey = `sk-provider-${randomUUID()}`;
  const prefix = `e2e-${randomUUID()}`;
  const gateway = await startGateway({
    workers: options.workers ?? 1,
    env: {
      REDIS_URL: inject("redisUrl"),
      QUEUE_PREFIX: prefix,
      USE_DATABASE_AUTH: "false",
      API_KEYS: clientKey,
      DEEPSEEK_API_KEY: providerKey,
      DEEPSEEK_BASE_URL: mock.url,
      ...options.env,
    },
  }).catch(async (error) => {
    await mock.close();
    throw error;
  });
  return {
    mock,
    gateway,
    clientKey,
    providerKey,
    prefix,
    client: new OpenAI({ apiKey: clientKey, baseURL: `${gateway.url}/v1`, maxRetries: 0 }),
    callsWith: (tag) => mock.calls.filter((call) => JSON.stringify(call.body).includes(tag)).length,
    complete: (body, init = {}) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json", ...init.headers },
        body: JSON.stringify(body),
        signal: init.signal,
      }),
    async stop() {
      await gateway.stop();
      await mock.close();
    },
  };
}
