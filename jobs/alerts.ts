/**
 * Operator alerts: one log line (error level) and, when ALERT_WEBHOOK_URL is set, a POST of
 * `{text, content}` (Slack reads `text`, Discord reads `content`). Delivery failures are logged, never thrown:
 * an alert must not change the outcome of the step that raised it.
 */
import type { Logger } from "../src/log.ts";
import { describeError } from "../src/errors.ts";

export interface Alerter {
  alert(text: string, fields?: Record<string, unknown>): Promise<void>;
}

export function createAlerter(options: { webhookUrl: string | undefined; logger: Logger; timeoutMs?: number }): Alerter {
  const log = options.logger.child({ component: "alerts" });
  return {
    async alert(text, fields = {}) {
      log.error({ ...fields, alert: text }, "pipeline alert");
      if (!options.webhookUrl) return;
      const message = `kamiyo-stake pipeline: ${text}`;
      try {
        const res = await fetch(options.webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text: message, content: message.slice(0, 2000) }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
        });
        if (!res.ok) log.warn({ status: res.status }, "alert webhook answered an error");
        await res.body?.cancel();
      } catch (err) {
        log.warn({ err: describeError(err) }, "alert webhook unreachable");
      }
    },
  };
}
