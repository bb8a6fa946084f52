// The one table the benchmark prints, and the JSON it writes under bench/results/.
import { cpus, freemem, release, totalmem } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What the figures were measured on. */
export function describeMachine() {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model?.trim() ?? "unknown",
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGb: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
  };
}

const round = (value, digits) => (value === null || value === undefined || Number.isNaN(value) ? null : Number(value.toFixed(digits)));

/** A table row; `added` is the p50 minus the direct upstream's p50 at the same concurrency. */
export function row({ scenario, concurrency, rps, p50 = null, p99 = null, added = null, apiPeakRssMb = null, note = "", foreignCpu = null }) {
  return {
    scenario,
    concurrency,
    rps: round(rps, 0),
    p50Ms: round(p50, 2),
    p99Ms: round(p99, 2),
    addedP50Ms: round(added, 2),
    apiPeakRssMb: round(apiPeakRssMb, 0),
    note: [note, busyNote(foreignCpu)].filter(Boolean).join(", "),
    foreignCpuShare: round(foreignCpu, 3),
  };
}

/** Flags a point during which other processes used a noticeable share of the CPUs. */
function busyNote(share) {
  return share !== null && share >= 0.03 ? `NOISY: ${Math.round(share * 100)}% of CPU used outside the bench` : "";
}

/** The rows as an aligned text table. */
export function formatTable(rows) {
  const headers = ["scenario", "conc", "rps", "p50 ms", "p99 ms", "+p50 vs direct", "API peak RSS MB", "note"];
  const cell = (value) => (value === null || value === undefined ? "-" : String(value));
  const body = rows.map((entry) => [
    entry.scenario,
    cell(entry.concurrency),
    cell(entry.rps),
    cell(entry.p50Ms),
    cell(entry.p99Ms),
    entry.addedP50Ms === null ? "-" : `${entry.addedP50Ms >= 0 ? "+" : ""}${entry.addedP50Ms}`,
    cell(entry.apiPeakRssMb),
    entry.note,
  ]);
  const widths = headers.map((header, index) => Math.max(header.length, ...body.map((line) => line[index].length)));
  const numeric = new Set([1, 2, 3, 4, 5, 6]);
  const format = (line) =>
    line
      .map((value, index) => (index === line.length - 1 ? value : numeric.has(index) ? value.padStart(widths[index]) : value.padEnd(widths[index])))
      .join("  ")
      .trimEnd();
  return [format(headers), widths.map((width, index) => (index === widths.length - 1 ? "----" : "-".repeat(width))).join("  "), ...body.map(format)];
}

/** The same rows as a Markdown table (for the README). */
export function formatMarkdown(rows) {
  const lines = ["| scenario | conc | rps | p50 ms | p99 ms | +p50 vs direct | API peak RSS MB | note |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"];
  const cell = (value) => (value === null || value === undefined ? "-" : String(value));
  for (const entry of rows) {
    const added = entry.addedP50Ms === null ? "-" : `${entry.addedP50Ms >= 0 ? "+" : ""}${entry.addedP50Ms}`;
    lines.push(`| ${entry.scenario} | ${cell(entry.concurrency)} | ${cell(entry.rps)} | ${cell(entry.p50Ms)} | ${cell(entry.p99Ms)} | ${added} | ${cell(entry.apiPeakRssMb)} | ${entry.note} |`);
  }
  return lines;
}

/** Writes bench/results/latest.json, a timestamped copy and latest.md (the table for the README). */
export function writeResults(folder, results) {
  mkdirSync(folder, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = results.startedAt.replace(/[:.]/g, "-");
  const latest = join(folder, "latest.json");
  const copy = join(folder, `${stamp}.json`);
  writeFileSync(latest, text);
  writeFileSync(copy, text);
  const { machine } = results;
  const heading = `${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB RAM, ${machine.os}, Node ${machine.node}, ${results.startedAt.slice(0, 10)}`;
  writeFileSync(join(folder, "latest.md"), [`Machine: ${heading}.`, "", ...formatMarkdown(results.rows), ""].join("\n"));
  return { latest, copy };
}
