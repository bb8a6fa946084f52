// Jobs completed per second: a burst of N jobs queued while the queue is paused, then the time
// the workers take to finish all of them once it resumes.
import { startCpuMeter } from "./cpu-meter.mjs";
import { sendBurst } from "./load.mjs";

const OPEN_STATES = ["wait", "paused", "active", "delayed", "prioritized"];

/** Resolves once BullMQ holds no job that is waiting, paused, active or delayed (or after `timeoutMs`). */
export async function waitForDrain(queue, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts(...OPEN_STATES);
    const open = Object.values(counts).reduce((sum, count) => sum + count, 0);
    if (open === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Queues `amount` jobs through POST /v1/jobs with the queue paused, resumes it and times the
 * drain. Returns { jobs, seconds, jobsPerSecond, drained }.
 */
export async function measureJobDrain({ queue, url, headers, body, amount }) {
  await queue.pause();
  let submitted;
  try {
    submitted = await sendBurst({ url, headers, body, connections: 32, amount });
  } finally {
    await queue.resume();
  }
  const meter = startCpuMeter();
  const start = performance.now();
  const drained = await waitForDrain(queue);
  const seconds = (performance.now() - start) / 1000;
  const jobs = submitted.latencies.length;
  return { jobs, seconds, jobsPerSecond: jobs / seconds, drained, foreignCpu: meter.stop().foreignShare };
}

/** Without a jobs route: `amount` synchronous requests, 128 at a time; their rate is the jobs' rate. */
export async function measureSyncDrain({ url, headers, body, amount }) {
  const result = await sendBurst({ url, headers, body, connections: 128, amount });
  const jobs = result.latencies.length;
  return { jobs, seconds: result.seconds, jobsPerSecond: jobs / result.seconds, drained: true, foreignCpu: result.foreignCpu };
}
