/**
 * UTC reporting windows for the revenue endpoints: a calendar day or a calendar month, each half-open
 * [start, end), so a payment at 00:00:00Z belongs to the day that starts then. Pure.
 */

export interface UtcWindow {
  /** "2026-11-24" or "2026-11". */
  label: string;
  start: Date;
  /** Exclusive. */
  end: Date;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const YEAR = /^\d{4}$/;
const MONTH = /^(0?[1-9]|1[0-2])$/;

export type WindowResult = { ok: true; window: UtcWindow } | { ok: false; reason: string };

const pad = (n: number) => String(n).padStart(2, "0");

/** The UTC day named by "YYYY-MM-DD" (a real calendar date). */
export function dayWindow(text: string): WindowResult {
  const m = DATE.exec(text);
  if (!m) return { ok: false, reason: `date must be YYYY-MM-DD, got "${text}"` };
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = new Date(Date.UTC(year, month - 1, day));
  if (year < 1970 || start.getUTCFullYear() !== year || start.getUTCMonth() !== month - 1 || start.getUTCDate() !== day) {
    return { ok: false, reason: `date ${text} is not a calendar date from 1970 on` };
  }
  return { ok: true, window: { label: text, start, end: new Date(Date.UTC(year, month - 1, day + 1)) } };
}

/** The UTC calendar month `year`-`month` (month 1..12). */
export function monthWindow(yearText: string, monthText: string): WindowResult {
  if (!YEAR.test(yearText) || Number(yearText) < 1970) return { ok: false, reason: `year must be a four-digit year from 1970 on, got "${yearText}"` };
  if (!MONTH.test(monthText)) return { ok: false, reason: `month must be 1..12, got "${monthText}"` };
  const year = Number(yearText);
  const month = Number(monthText);
  return {
    ok: true,
    window: { label: `${year}-${pad(month)}`, start: new Date(Date.UTC(year, month - 1, 1)), end: new Date(Date.UTC(year, month, 1)) },
  };
}

/** Today's UTC date as YYYY-MM-DD. */
export function utcToday(now: Date): string {
  return `${now.getUTCFullYear()}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}`;
}
