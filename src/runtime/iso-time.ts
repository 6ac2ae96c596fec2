const ISO_TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

const MS_PER_MINUTE = 60_000;
const MAX_YEAR = 9998;
// The instant a zone's offset lands on must stay in the years too: 0001-01-01T00:00+05:00 is
// year 0000 in UTC, which PostgreSQL refuses as out of range.
const FIRST_INSTANT_MS = Date.parse('0001-01-01T00:00:00Z');
const END_INSTANT_MS = Date.parse(`${MAX_YEAR + 1}-01-01T00:00:00Z`);

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function offsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}

/**
 * Parses an ISO 8601 date (`2026-02-28`) or date-time (`2026-02-28T10:00:00.5+01:00`; a time
 * without a zone is UTC) naming an instant of the years 0001 to 9998 in UTC, as written and
 * once its zone is applied (the summary's buckets end up to a month later, and the database
 * stops at 9999). Null for anything else, including a day the
 * month does not have: 2026-02-30 is refused, never read as March 2 the way `Date.parse` does.
 */
export function parseIsoTime(text: string): Date | null {
  const m = ISO_TIME_RE.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(
    (part) => Number(part ?? 0),
  ) as [number, number, number, number, number, number];
  if (
    year < 1 ||
    year > MAX_YEAR ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month)
  ) {
    return null;
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offset = offsetMinutes(m[8]);
  if (offset === null) return null;
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const utc = new Date(0);
  // setUTCFullYear, unlike Date.UTC, keeps the years 0001 to 0099 as written.
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  const instant = utc.getTime() - offset * MS_PER_MINUTE;
  if (instant < FIRST_INSTANT_MS || instant >= END_INSTANT_MS) return null;
  return new Date(instant);
}
