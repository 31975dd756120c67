import type { Logger } from "../../src/log.ts";

/** A service's dependency that an earlier service sets in the state; missing means the order is wrong or it stopped. */
export const need = <T>(value: T | null, what: string): T => {
  if (value === null) throw new Error(`${what} is not running`);
  return value;
};

export type LogFor = (component: string) => Logger;
