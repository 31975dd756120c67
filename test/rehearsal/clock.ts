/**
 * Preloaded (node --import) into the rehearsal's worker: its clock runs REHEARSAL_CLOCK_OFFSET_MS ahead, so
 * the UTC day the payments were made in has closed for it without the test waiting for midnight. Only the
 * process's Date moves; Postgres, Redis and the local chain keep their own clocks (the chain is moved past the
 * day's end with surfnet_timeTravel).
 */
const offset = Number(process.env.REHEARSAL_CLOCK_OFFSET_MS ?? "0");
if (Number.isSafeInteger(offset) && offset !== 0) {
  const RealDate = Date;
  class ShiftedDate extends RealDate {
    constructor(...args: [] | [string | number | Date]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(args[0]);
    }
    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
