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
/**
 * A group's estimated cost, or a dash when none of it could be priced: it has requests of a model
 * without a price and no priced spending (its refused or failed requests spent nothing either way).
 */
export const cost = (value: number, unpricedRequests: number): string =>
  unpricedRequests > 0 && value === 0 ? '–' : usd(value);
