// Where a process spent its CPU: self time by function and by package, and inclusive time of
// the gateway's own functions, from a V8 .cpuprofile (`node --cpu-prof`).
// CLI: node bench/lib/profile-summary.mjs FILE.cpuprofile [fromUs toUs]
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const OWN_CODE = /\/(apps|libs)\/([^/]+)\/(dist|src)\/(.+)$/;

/**
 * Summarises samples taken between `fromUs` and `toUs` (V8 timestamps: microseconds of the
 * monotonic clock, the same as `process.hrtime` in any process on this machine); the whole
 * profile when they are absent or no sample falls inside.
 */
export function summariseProfile(profile, { fromUs, toUs } = {}) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

  const windowed = fromUs !== undefined && toUs !== undefined;
  const self = new Map();
  const groups = new Map();
  const inclusive = new Map();
  let busyUs = 0;
  let idleUs = 0;
  const consider = (inWindow) => {
    let time = profile.startTime;
    let counted = 0;
    for (let index = 0; index < profile.samples.length; index++) {
      time += profile.timeDeltas[index];
      const duration = profile.timeDeltas[index + 1] ?? 0;
      if (inWindow && (time < fromUs || time > toUs)) continue;
      counted++;
      const node = nodes.get(profile.samples[index]);
      const frame = node.callFrame;
      if (frame.functionName === "(idle)") {
        idleUs += duration;
        continue;
      }
      busyUs += duration;
      add(self, frameKey(frame), duration);
      add(groups, groupOf(frame), duration);
      // Inclusive time of own functions: once per sample, however deep the recursion.
      const seen = new Set();
      for (let id = node.id; id !== undefined; id = parents.get(id)) {
        const callFrame = nodes.get(id).callFrame;
        if (!OWN_CODE.test(callFrame.url)) continue;
        const key = frameKey(callFrame);
        if (seen.has(key)) continue;
        seen.add(key);
        add(inclusive, key, duration);
      }
    }
    return counted;
  };
  if (!windowed || consider(true) === 0) consider(false);

  const top = (map, count) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    topSelf: top(self, 20),
    byGroup: top(groups, 14),
    ownInclusive: top(inclusive, 15),
  };
}

/** The summary as indented text lines. */
export function formatProfileSummary(title, summary) {
  const percent = (share) => `${(share * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${title}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle in the window`];
  lines.push("  self time by package/area:");
  for (const entry of summary.byGroup) lines.push(`    ${percent(entry.share)}  ${entry.name}`);
  lines.push("  top functions by self time:");
  for (const entry of summary.topSelf) lines.push(`    ${percent(entry.share)}  ${entry.name}`);
  lines.push("  gateway code, inclusive time (share of busy):");
  for (const entry of summary.ownInclusive) lines.push(`    ${percent(entry.share)}  ${entry.name}`);
  return lines;
}

function add(map, key, value) {
  map.set(key, (map.get(key) ?? 0) + value);
}

function frameKey(frame) {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  return `${name}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function shortUrl(url) {
  const own = OWN_CODE.exec(url);
  if (own) return `${own[1]}/${own[2]}/${own[4]}`;
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) return url.slice(modules + "node_modules/".length);
  return url;
}

/** A package, a Node subsystem, or one of the gateway's own libs/apps. */
function groupOf(frame) {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === "(garbage collector)") return "V8 garbage collector";
    if (functionName === "(program)") return "V8/native (program)";
    return `V8 builtins/native (${functionName || "anonymous"})`;
  }
  const own = OWN_CODE.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const parts = url.slice(modules + "node_modules/".length).split("/");
    return `npm ${parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (url.startsWith("node:")) {
    const area = url.slice(5).replace(/^internal\//, "").split("/")[0];
    return `node:${area}`;
  }
  return url;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, from, to] = process.argv.slice(2);
  const summary = summariseProfile(JSON.parse(readFileSync(file, "utf8")), from ? { fromUs: Number(from), toUs: Number(to) } : {});
  console.log(formatProfileSummary(file, summary).join("\n"));
}
