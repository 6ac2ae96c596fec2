/** First characters a spreadsheet reads as the start of a formula (OWASP's CSV injection list). */
const FORMULA_START_RE = /^[=+\-@\t\r]/;

/**
 * One CSV field per RFC 4180: quoted when it holds a comma, a quote or a line break, and also a
 * semicolon or a tab, which spreadsheets set to those separators (Excel in many European locales
 * reads `;`) would split on, so a field such as `x;=HYPERLINK(…)` cannot become a cell that
 * starts a formula. Text that a spreadsheet would run as a formula (starting with = + - @, a tab
 * or a carriage return) is prefixed with a single quote and quoted, as OWASP advises; numbers and
 * booleans are the gateway's own values and are written as they are.
 */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  if (FORMULA_START_RE.test(value)) return `"'${value.replaceAll('"', '""')}"`;
  return /[",;\t\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV record, CRLF-terminated as RFC 4180 asks. */
export function csvRecord(
  values: readonly (string | number | boolean | null | undefined)[],
): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
