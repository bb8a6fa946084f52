import type { UsageRow } from "../types.js";

const COLUMNS: (keyof UsageRow)[] = [
  "created_at",
  "key_id",
  "key_name",
  "user_id",
  "model",
  "provider",
  "status",
  "prompt_tokens",
  "completion_tokens",
  "latency_ms",
  "cache_hit",
  "kind",
  "job_id",
  "request_id",
];

/** A CSV field: quoted when it holds a comma, quote or line break; a leading =+-@ is defused for spreadsheets. */
function field(value: unknown): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rows as RFC 4180 CSV (times as ISO 8601 UTC), downloaded from memory: no request leaves the page. */
export function downloadUsageCsv(rows: UsageRow[]) {
  const lines = [
    COLUMNS.join(","),
    ...rows.map((row) => COLUMNS.map((column) => field(column === "created_at" ? new Date(row.created_at * 1000).toISOString() : row[column])).join(",")),
  ];
  const url = URL.createObjectURL(new Blob([`${lines.join("\r\n")}\r\n`], { type: "text/csv;charset=utf-8" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: `usage-${new Date().toISOString().slice(0, 10)}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
