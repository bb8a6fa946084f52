import { randomUUID } from "node:crypto";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startMockUpstream, type MockUpstream } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// Clients choose model names; Prometheus series must not follow them. The built API and a worker
// as real processes, DeepSeek and OpenAI both on mock upstreams, both /metrics scraped over HTTP.
let stack: MockedGateway;
let openaiMock: MockUpstream;
let client: OpenAI;
let workerMetricsUrl: string;

beforeAll(async () => {
  openaiMock = await startMockUpstream();
  stack = await startMockedGateway({
    env: { RATE_LIMIT_ENABLED: "false", CACHE_ENABLED: "false", OPENAI_API_KEY: `sk-openai-${randomUUID()}`, OPENAI_BASE_URL: openaiMock.url },
  });
  client = stack.client;
  const ready = JSON.parse(await stack.gateway.workers[0].waitForLine(/worker ready/)) as { metricsPort: number };
  workerMetricsUrl = `http://127.0.0.1:${ready.metricsPort}/metrics`;
});

afterAll(async () => {
  await stack?.stop();
  await openaiMock?.close();
});

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The gateway's own series (`llmgw_*`) of a Prometheus text, keyed by name and labels. */
function seriesOf(text: string): Map<string, Series> {
  const series = new Map<string, Series>();
  for (const line of text.split("\n")) {
    const match = /^(llmgw_[\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    series.set(`${match[1]}{${match[2] ?? ""}}`, { name: match[1], labels, value: Number(match[3]) });
  }
  return series;
}

const scrapeBoth = async () => {
  const [api, worker] = await Promise.all([fetch(`${stack.gateway.url}/metrics`), fetch(workerMetricsUrl)]);
  return { api: await api.text(), worker: await worker.text() };
};

/** Output tokens counted under model="other" in one family. */
const otherTokens = (text: string, family: string) =>
  [...seriesOf(text).values()]
    .filter((series) => series.name === family && series.labels.model === "other" && series.labels.direction === "out")
    .reduce((sum, series) => sum + series.value, 0);

/**
 * One request of the kind `i` picks: every fifth one the upstream refuses (400), every fifth a
 * stream, the rest JSON. Resolves to the completion tokens of a success (0 for the refusal).
 */
async function ask(model: string, i: number): Promise<number> {
  const content = `labels ${i} ${randomUUID()}`;
  if (i % 5 === 0) {
    await expect(client.chat.completions.create({ model, messages: [{ role: "user", content: `${content} [[mock:status=400]]` }] })).rejects.toMatchObject({
      status: 400,
    });
    return 0;
  }
  if (i % 5 === 1) {
    const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content }], stream: true, stream_options: { include_usage: true } });
    let tokens = 0;
    for await (const chunk of stream) if (chunk.usage) tokens = chunk.usage.completion_tokens;
    return tokens;
  }
  const answer = await client.chat.completions.create({ model, messages: [{ role: "user", content }] });
  return answer.usage!.completion_tokens;
}

/** `deepseek/anything-N` (the PROVIDER/MODEL route) and `gpt-made-up-N` (OpenAI's `gpt-*` pattern): served, never listed. */
const madeUp = (i: number) => (i % 2 === 0 ? `deepseek/anything-${i}` : `gpt-made-up-${i}`);

/** Sends `ask(madeUp(i), i)` for every i in [from, to), `parallel` at a time; the sum of their tokens. */
async function askMadeUp(from: number, to: number, parallel = 16): Promise<number> {
  let next = from;
  let tokens = 0;
  const lane = async () => {
    for (let i = next++; i < to; i = next++) {
      const answered = await ask(madeUp(i), i);
      tokens += answered;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return tokens;
}

describe("model labels on /metrics", () => {
  it("500 made-up model names that reach a provider add no series: they count as one `other` model", { timeout: 120_000 }, async () => {
    // Every outcome (refused, streamed, JSON) for listed models under both spellings, and for
    // made-up names on both providers: every series a request can create exists after this.
    for (const [i, model] of ["deepseek-chat", "deepseek/deepseek-chat", "gpt-4o", "openai/gpt-4o-mini"].entries()) {
      for (let kind = 0; kind < 3; kind++) await ask(model, 5 * i + kind);
    }
    let expectedOther = await askMadeUp(0, 10);
    // The worker counts right after the job's end, the API once its usage drain recorded it.
    await vi.waitFor(
      async () => {
        const { api, worker } = await scrapeBoth();
        expect([otherTokens(api, "llmgw_tokens_total"), otherTokens(worker, "llmgw_worker_tokens_total")]).toEqual([expectedOther, expectedOther]);
      },
      { timeout: 10_000, interval: 100 },
    );
    const before = await scrapeBoth();
    const known = (text: string) => new Set([...seriesOf(text).values()].flatMap((series) => (series.labels.model ? [series.labels.model] : [])));
    // Listed models keep their own label (PROVIDER/MODEL counts as the listed name).
    expect(known(before.worker)).toEqual(new Set(["deepseek-chat", "gpt-4o", "gpt-4o-mini", "other"]));
    expect(known(before.api)).toEqual(new Set(["deepseek-chat", "gpt-4o", "gpt-4o-mini", "other"]));
    expect(seriesOf(before.worker).get('llmgw_worker_jobs_total{provider="openai",model="gpt-4o-mini",outcome="succeeded"}')?.value).toBe(2);

    expectedOther += await askMadeUp(10, 510);
    expect(stack.mock.calls.filter((call) => /"model":"anything-/.test(JSON.stringify(call.body))).length).toBe(255);
    expect(openaiMock.calls.filter((call) => /"model":"gpt-made-up-/.test(JSON.stringify(call.body))).length).toBe(255);
    await vi.waitFor(
      async () => {
        const { api, worker } = await scrapeBoth();
        expect([otherTokens(api, "llmgw_tokens_total"), otherTokens(worker, "llmgw_worker_tokens_total")]).toEqual([expectedOther, expectedOther]);
      },
      { timeout: 20_000, interval: 200 },
    );
    const after = await scrapeBoth();
    for (const side of ["api", "worker"] as const) {
      // The same series as before the 500 names, their values grown; not one name in any line.
      expect([...seriesOf(after[side]).keys()].sort(), side).toEqual([...seriesOf(before[side]).keys()].sort());
      expect(after[side]).not.toMatch(/anything-|made-up/);
    }
    const jobs = seriesOf(after.worker);
    expect(jobs.get('llmgw_worker_jobs_total{provider="deepseek",model="other",outcome="succeeded"}')?.value).toBe(4 + 200);
    expect(jobs.get('llmgw_worker_jobs_total{provider="openai",model="other",outcome="failed"}')?.value).toBe(1 + 50);
  });
});
