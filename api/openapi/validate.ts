/** Request input checked with the route's zod schema: the parsed value, or a 400 naming the field and the problem. */
import type { z } from "zod";
import { HttpError } from "../errors.ts";

export function validate<T extends z.ZodType>(schema: T, value: unknown, code: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join(".");
  throw new HttpError("invalid_input", code, field && !issue.message.startsWith(field) ? `${field} ${issue.message}` : issue.message);
}
