/** Turning any thrown value into one line of text for operators. */

/**
 * The error's message on one line, falling back to its code or its first nested error: Node's connect
 * errors are AggregateErrors with an empty message when every address of a host refused.
 */
export function describeError(err: unknown): string {
  let text: string;
  if (err instanceof AggregateError && !err.message && err.errors.length > 0) text = describeError(err.errors[0]);
  else if (err instanceof Error) text = err.message || (err as { code?: unknown }).code?.toString() || err.name;
  else text = String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
