import { byId } from './dom.js';
import type { Step } from './time-series.js';

/** Form fields that shape the page rather than filter the rows. */
const VIEW_FIELDS = new Set(['per']);

/** The filter form as query parameters; the form's times are read as UTC, like every time shown. */
export function filterQuery(): URLSearchParams {
  const form = new FormData(byId('filters', HTMLFormElement));
  const q = new URLSearchParams();
  for (const [name, value] of form.entries()) {
    if (typeof value !== 'string' || value === '' || VIEW_FIELDS.has(name)) continue;
    q.set(name, name === 'from' || name === 'to' ? new Date(`${value}Z`).toISOString() : value);
  }
  return q;
}

/** The chosen time grouping: a fixed step, or `auto` to fit the data. */
export function chosenStep(): Step | 'auto' {
  const value = byId('per', HTMLSelectElement).value;
  return value === 'hour' || value === 'day' ? value : 'auto';
}

/** Sets one filter field (a breakdown row narrows the page to its model, key, end user or provider). */
export function setFilter(name: 'model' | 'key_id' | 'end_user' | 'provider', value: string): void {
  const field = byId('filters', HTMLFormElement).elements.namedItem(name);
  if (field instanceof HTMLInputElement) field.value = value;
}
