import type { Language } from "./messages.js";

const locale = (language: Language) => (language === "zh" ? "zh-CN" : "en-GB");

/** A unix-seconds time in the browser's time zone, e.g. 29 Nov 2026, 10:15:02. */
export function formatTime(seconds: number | null, language: Language): string {
  if (seconds === null) return "—";
  return new Intl.DateTimeFormat(locale(language), { dateStyle: "medium", timeStyle: "medium" }).format(seconds * 1000);
}

export function formatNumber(value: number, language: Language): string {
  return new Intl.NumberFormat(locale(language)).format(value);
}

export function formatPercent(ratio: number, language: Language): string {
  return new Intl.NumberFormat(locale(language), { style: "percent", maximumFractionDigits: 1 }).format(ratio);
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return "—";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Minutes east of UTC of the browser's zone now (the usage series starts its days at local midnight). */
export const utcOffsetMinutes = () => -new Date().getTimezoneOffset();

/** A date input's value (YYYY-MM-DD, local) as unix seconds at local midnight. */
export function localDateToSeconds(value: string): number | undefined {
  if (!value) return undefined;
  const [year, month, day] = value.split("-").map(Number);
  return Math.floor(new Date(year, month - 1, day).getTime() / 1000);
}

/** Unix seconds as a date input's value, in local time. */
export function secondsToLocalDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A list typed one per line or comma-separated, without blanks or repeats. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\n,]/).map((entry) => entry.trim()).filter(Boolean))];
}

/** A number input's text as the admin API takes a limit or budget: empty = null (none). */
export function optionalCount(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

/** The number fields filled in, as numbers; the empty ones are left out (the API's default). */
export function filledCounts<F extends string>(values: Record<F, string>, fields: readonly F[]): Partial<Record<F, number>> {
  return Object.fromEntries(fields.filter((field) => values[field].trim() !== "").map((field) => [field, Number(values[field])])) as Partial<Record<F, number>>;
}

/** A limit or budget as a number input's text (null = empty). */
export const countText = (value: number | null) => (value === null ? "" : String(value));

/** A unix-seconds time without year and seconds, in the browser's time zone, e.g. 30 Nov, 08:00. */
export function formatShortTime(seconds: number, language: Language): string {
  return new Intl.DateTimeFormat(locale(language), { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(seconds * 1000);
}
