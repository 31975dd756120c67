/** Structured logging. Secrets are redacted by path wherever they might appear. */
import { pino, type Logger } from "pino";

export type { Logger };

export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "req.headers[\"x-admin-key\"]",
  "req.headers[\"payment-signature\"]",
  "adminApiKey",
  "webhookAuth",
  "apiKey",
  "*.apiKey",
  "secretKey",
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    level: options.level ?? "info",
    ...(options.name ? { name: options.name } : {}),
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    // bigint amounts are logged as decimal strings
    serializers: {},
    formatters: { level: (label) => ({ level: label }) },
  });
}
