// which callers lead to writeUtf8String / writev in a cpuprofile
import { readFileSync } from "node:fs";
const p = JSON.parse(readFileSync(process.argv[2], "utf8"));
const nodes = new Map(p.nodes.map((n) => [n.id, n])); const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const counts = new Map(); let total = 0;
for (const s of p.samples) { const n = nodes.get(s); if (!/writeUtf8String|writev|writeBuffer/.test(n.callFrame.functionName)) continue; total++;
  const chain = []; for (let id = parent.get(n.id); id !== undefined && chain.length < 14; id = parent.get(id)) { const f = nodes.get(id).callFrame; chain.push(`${f.functionName || "(anon)"}@${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`); }
  const key = chain.filter((c) => !/node:|^\(anon\)@:|processTicksAndRejections/.test(c)).slice(0, 4).join(" < "); counts.set(key, (counts.get(key) ?? 0) + 1); }
console.log("samples", total); for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(v, k);
