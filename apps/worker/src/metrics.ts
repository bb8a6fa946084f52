import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CompletionJobData } from "@llmgw/jobs";
import { OTHER_MODEL_LABEL, ProviderError, type ChatCompletion, type ModelLabeler } from "@llmgw/providers";

/** What one try of one job reports; the processor calls these at the few points that matter. */
export interface TryMetrics {
  /** The first streamed chunk arrived (time to first token). */
  firstChunk(): void;
  /** The job's result was stored. `jobMs` counts from enqueueing. */
  succeeded(result: ChatCompletion, jobMs: number): void;
  /** The try failed; `final` when the job ends with it rather than being retried. */
  failed(error: unknown, final: boolean, jobMs: number): void;
  /** The job was cancelled or taken over while this try ran. */
  cancelled(jobMs: number): void;
  /** Last, however the try ended. */
  done(): void;
}

export interface JobMetrics {
  startTry(data: CompletionJobData): TryMetrics;
  /** A try found its key at its max_concurrent and was parked until a slot frees. */
  parked(): void;
}

const UPSTREAM_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const FIRST_TOKEN_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

export interface WorkerMetricsOptions {
  /** Process metrics (CPU, memory, event loop lag); on by default. */
  defaultMetrics?: boolean;
  /**
   * The `model` label of a (provider, upstream model) pair: createModelLabeler(registry.listModels())
   * in a worker, so only configured models get series of their own. Without it every model is `other`.
   */
  modelLabel?: ModelLabeler;
}

/**
 * The worker process's Prometheus metrics, in a registry of its own, served on
 * WORKER_METRICS_PORT. Labels are providers, configured upstream models (else `other`) and
 * outcomes: never a key, never a name a client made up.
 */
export function createWorkerMetrics(options: WorkerMetricsOptions = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const upstreamDuration = new Histogram({
    name: "llmgw_worker_upstream_duration_seconds",
    help: "One try's upstream call, from the request to the complete answer or the failure",
    labelNames: ["provider", "model", "outcome"] as const,
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const upstreamErrors = new Counter({
    name: "llmgw_worker_upstream_errors_total",
    help: "Failed tries by upstream status (`none` for connection errors and timeouts) and whether they were retryable",
    labelNames: ["provider", "model", "status", "retryable"] as const,
    registers,
  });
  const firstToken = new Histogram({
    name: "llmgw_worker_time_to_first_token_seconds",
    help: "From the start of a streaming try to its first chunk",
    labelNames: ["provider", "model"] as const,
    buckets: FIRST_TOKEN_BUCKETS,
    registers,
  });
  const jobDuration = new Histogram({
    name: "llmgw_worker_job_duration_seconds",
    help: "From enqueueing to the job's end (queue wait and retries included)",
    labelNames: ["outcome"] as const,
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const jobs = new Counter({
    name: "llmgw_worker_jobs_total",
    help: "Jobs this worker ended, by outcome (succeeded, failed, cancelled), plus tries it retried",
    labelNames: ["provider", "model", "outcome"] as const,
    registers,
  });
  const tokens = new Counter({
    name: "llmgw_worker_tokens_total",
    help: "Tokens the upstream reported for successful jobs (in = prompt, out = completion)",
    labelNames: ["direction", "provider", "model"] as const,
    registers,
  });
  const inFlight = new Gauge({
    name: "llmgw_worker_jobs_in_flight",
    help: "Tries running in this worker now",
    registers,
  });

  const parkedTries = new Counter({
    name: "llmgw_worker_parked_tries_total",
    help: "Tries that found their key running its max_concurrent jobs and were parked until a slot freed",
    registers,
  });

  const channelTries = new Counter({
    name: "llmgw_channel_tries_total",
    help: "Tries per upstream channel (configured ids, never keys) by outcome: ok, failed, refused (a request error, not the channel's)",
    labelNames: ["channel", "outcome"] as const,
    registers,
  });
  const channelDisabled = new Counter({
    name: "llmgw_channel_disabled_total",
    help: "Channels this worker disabled, by reason (key_refused, no_credit)",
    labelNames: ["channel", "reason"] as const,
    registers,
  });

  const modelLabel = options.modelLabel ?? (() => OTHER_MODEL_LABEL);

  const jobMetrics: JobMetrics = {
    startTry(data) {
      // The upstream's own model name (what the provider was actually asked for), when configured.
      const labels = { provider: data.provider, model: modelLabel(data.provider, data.request.model) };
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      let sawChunk = false;
      inFlight.inc();
      const endJob = (outcome: string, jobMs: number) => {
        jobs.inc({ ...labels, outcome });
        jobDuration.observe({ outcome }, jobMs / 1000);
      };
      return {
        firstChunk() {
          if (sawChunk) return;
          sawChunk = true;
          firstToken.observe(labels, seconds());
        },
        succeeded(result, jobMs) {
          upstreamDuration.observe({ ...labels, outcome: "ok" }, seconds());
          const usage = result.usage;
          if (usage?.prompt_tokens) tokens.inc({ ...labels, direction: "in" }, usage.prompt_tokens);
          if (usage?.completion_tokens) tokens.inc({ ...labels, direction: "out" }, usage.completion_tokens);
          endJob("succeeded", jobMs);
        },
        failed(error, final, jobMs) {
          upstreamDuration.observe({ ...labels, outcome: "error" }, seconds());
          const status = error instanceof ProviderError && error.status !== undefined ? String(error.status) : "none";
          const retryable = error instanceof ProviderError && error.retryable ? "true" : "false";
          upstreamErrors.inc({ ...labels, status, retryable });
          if (final) endJob("failed", jobMs);
          else jobs.inc({ ...labels, outcome: "retried" });
        },
        cancelled(jobMs) {
          endJob("cancelled", jobMs);
        },
        done() {
          inFlight.dec();
        },
      };
    },
    parked: () => parkedTries.inc(),
  };

  return {
    registry,
    ...jobMetrics,
    /** One try of a channel ended. */
    channelTry: (channel: string, outcome: "ok" | "failed" | "refused") => channelTries.inc({ channel, outcome }),
    channelDisabled: (channel: string, reason: string) => channelDisabled.inc({ channel, reason }),
    /** The Prometheus text exposition of every family. */
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
