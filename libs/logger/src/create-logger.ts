import { pino, type Logger, type DestinationStream } from "pino";

export type { Logger } from "pino";

/** Header and field paths that may hold a key; pino replaces their values before serialising. */
const redactedPaths = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "headers.authorization",
  'headers["x-api-key"]',
  "authorization",
  "apiKey",
  "api_key",
  "*.apiKey",
  "*.api_key",
  "*.authorization",
];

/** Client keys issued by the gateway look like this; any that slips into a message is masked too. */
const clientKeyPattern = /\bgw-[A-Za-z0-9_-]{20,}/g;

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Values that must never be written (provider keys, static client keys, admin token). */
  secrets?: (string | undefined)[];
  destination?: DestinationStream;
}

/** The only pino setup: JSON lines, redacted key paths, and known secret values masked in every line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((value): value is string => typeof value === "string" && value.length >= 4);
  return pino(
    {
      level: options.level ?? "info",
      name: options.name,
      redact: { paths: redactedPaths, censor: "[REDACTED]" },
      hooks: {
        // Last line of defence: whatever path a secret took into the line, it is masked here.
        streamWrite(line) {
          let safe = line.replace(clientKeyPattern, "gw-[REDACTED]");
          for (const secret of secrets) safe = safe.split(secret).join("[REDACTED]");
          return safe;
        },
      },
    },
    options.destination,
  );
}
