import { byId } from './dom.js';

/**
 * The filter form as query parameters. The form's times are read as UTC, like every time the page
 * shows; `group_by` is left out unless asked for.
 */
export function filterQuery(includeGroup: boolean): URLSearchParams {
  const form = new FormData(byId('filters', HTMLFormElement));
  const q = new URLSearchParams();
  for (const [name, value] of form.entries()) {
    if (typeof value !== 'string' || value === '') continue;
    if (name === 'group_by' && !includeGroup) continue;
    q.set(name, name === 'from' || name === 'to' ? new Date(`${value}Z`).toISOString() : value);
  }
  return q;
}
