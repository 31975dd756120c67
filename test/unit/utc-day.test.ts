import { describe, expect, it } from "vitest";
import {
  addUtcDays,
  dayWindow,
  lastClosedUtcDay,
  monthWindow,
  parseUtcDay,
  trailingDays,
  utcDayOf,
  utcDayWindow,
  utcToday,
} from "../../src/domain/utc-day.ts";

describe("UTC days", () => {
  it("closes a day at midnight UTC, whatever side of it a process starts on", () => {
    expect(lastClosedUtcDay(new Date("2026-11-29T23:59:59.999Z"))).toBe("2026-11-28");
    expect(lastClosedUtcDay(new Date("2026-11-30T00:00:00.000Z"))).toBe("2026-11-29");
    expect(utcDayOf(new Date("2026-11-30T00:00:00.000Z"))).toBe("2026-11-30");
    expect(utcToday(new Date("2026-11-30T00:00:00.000+01:00"))).toBe("2026-11-29");
  });

  it("gives the pipeline and the revenue endpoints the same window for a day", () => {
    for (const day of ["2024-02-29", "2026-01-01", "2026-12-31"]) {
      const w = dayWindow(day);
      expect(w.ok && { start: w.window.start, end: w.window.end }).toEqual(utcDayWindow(day));
    }
    expect(utcDayWindow("2026-12-31").end).toEqual(utcDayWindow(addUtcDays("2026-12-31", 1)).start);
  });

  it("refuses what is not a calendar date, each in its own dialect", () => {
    expect(() => parseUtcDay("2023-02-29")).toThrow(/not a calendar date/);
    expect(() => parseUtcDay("2023-2-1")).toThrow(/not a YYYY-MM-DD date/);
    expect(dayWindow("2023-02-29")).toEqual({ ok: false, reason: "date 2023-02-29 is not a calendar date from 1970 on" });
    expect(dayWindow("1969-12-31").ok).toBe(false);
    expect(dayWindow("yesterday")).toEqual({ ok: false, reason: 'date must be YYYY-MM-DD, got "yesterday"' });
    // Years below 100 are years, not 19xx.
    expect(parseUtcDay("0050-01-01")).toBe("0050-01-01");
    expect(utcDayWindow("0050-01-01").start.toISOString()).toBe("0050-01-01T00:00:00.000Z");
  });

  it("windows months and trailing spans half-open", () => {
    const m = monthWindow("2026", "2");
    expect(m.ok && [m.window.label, m.window.start.toISOString(), m.window.end.toISOString()]).toEqual(["2026-02", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"]);
    const end = new Date("2026-11-29T12:00:00.000Z");
    expect(trailingDays(end, 30)).toEqual({ start: new Date("2026-10-30T12:00:00.000Z"), end });
  });
});
