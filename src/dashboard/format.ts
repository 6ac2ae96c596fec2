const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const dollars = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumFractionDigits: 4,
});

/** A count or measurement, at most one decimal. */
export const fmt = (value: number): string => number.format(value);
/** An amount in US dollars. */
export const usd = (value: number): string => dollars.format(value);
/** A ratio (0–1) as a percentage. */
export const pct = (value: number): string => `${number.format(value * 100)} %`;
/** Milliseconds, or a dash when there is no measurement. */
export const ms = (value: number | null): string =>
  value == null ? '–' : `${number.format(value)} ms`;
