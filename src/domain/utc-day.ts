/**
 * UTC calendar days and months, the one place that turns dates into windows. A day is "YYYY-MM-DD"; every
 * window is half-open [start, end), so a payment at 00:00:00Z belongs to the day that starts then. Pure.
 */

export const DAY_MS = 86_400_000;

export interface UtcWindow {
  /** "2026-11-24" or "2026-11". */
  label: string;
  start: Date;
  /** Exclusive. */
  end: Date;
}

export type WindowResult = { ok: true; window: UtcWindow } | { ok: false; reason: string };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const YEAR = /^\d{4}$/;
const MONTH = /^(0?[1-9]|1[0-2])$/;

const pad = (n: number) => String(n).padStart(2, "0");

/** 00:00Z of "YYYY-MM-DD", or null when the text is not that shape or not a calendar date. */
function startOfDay(text: string): Date | null {
  const m = DATE.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear keeps years 0..99 as written (Date.UTC would read them as 1900..1999).
  const start = new Date(0);
  start.setUTCFullYear(year, month - 1, day);
  if (start.getUTCFullYear() !== year || start.getUTCMonth() !== month - 1 || start.getUTCDate() !== day) return null;
  return start;
}

/** Validates a "YYYY-MM-DD" calendar date and returns it unchanged. */
export function parseUtcDay(text: string): string {
  if (!DATE.test(text)) throw new RangeError(`"${text}" is not a YYYY-MM-DD date`);
  if (!startOfDay(text)) throw new RangeError(`"${text}" is not a calendar date`);
  return text;
}

/** The half-open UTC window [00:00, next 00:00) of a day. */
export function utcDayWindow(day: string): { start: Date; end: Date } {
  parseUtcDay(day);
  const start = startOfDay(day)!;
  return { start, end: new Date(start.getTime() + DAY_MS) };
}

/** The UTC day `at` falls in. */
export function utcDayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function addUtcDays(day: string, days: number): string {
  return utcDayOf(new Date(utcDayWindow(day).start.getTime() + days * DAY_MS));
}

/** The most recent day whose window has closed at `now`. */
export function lastClosedUtcDay(now: Date): string {
  return addUtcDays(utcDayOf(now), -1);
}

/** Every day from `first` to `last` inclusive, in order (empty when first > last). */
export function utcDaysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = parseUtcDay(first); d <= parseUtcDay(last); d = addUtcDays(d, 1)) out.push(d);
  return out;
}

/** The `days` days of wall-clock time that end at `end` (a trailing window, not aligned to midnight). */
export function trailingDays(end: Date, days: number): { start: Date; end: Date } {
  return { start: new Date(end.getTime() - days * DAY_MS), end };
}

/** The UTC day named by "YYYY-MM-DD" (a real calendar date from 1970 on), for request parameters. */
export function dayWindow(text: string): WindowResult {
  if (!DATE.test(text)) return { ok: false, reason: `date must be YYYY-MM-DD, got "${text}"` };
  const start = startOfDay(text);
  if (!start || start.getUTCFullYear() < 1970) return { ok: false, reason: `date ${text} is not a calendar date from 1970 on` };
  return { ok: true, window: { label: text, start, end: new Date(start.getTime() + DAY_MS) } };
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
export const utcToday = utcDayOf;
