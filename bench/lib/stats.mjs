// Small statistics over latency samples (milliseconds, floats).

/** The q-quantile (0..1) of `sorted` (ascending), nearest-rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** p50 and p99 of unsorted samples. */
export function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), count: sorted.length };
}

export function median(values) {
  return quantile(Float64Array.from(values).sort(), 0.5);
}
