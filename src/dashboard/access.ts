import { getJson } from './api.js';
import { byId, el } from './dom.js';
import { summary } from './time-summary.js';

interface Tenant {
  id: string;
  name: string;
  forgotten_at: string | null;
}

interface ApiKey {
  id: string;
  name: string;
}

/** What the key may see beyond analytics: the admin API's tenants and key names, if anything. */
export interface Access {
  isAdmin: boolean;
  keyNames: Map<string, string>;
}

/**
 * Whether the key has the admin scope, asked without a refused request: the summary applies an
 * admin key to every tenant (tenant_id null) and any other key to its own. The window is empty,
 * so the question costs no scan.
 */
async function isAdminKey(): Promise<boolean> {
  const probe = await summary(new URLSearchParams({ to: '1970-01-01T00:00:00Z' }), 'model');
  return probe.filter.tenant_id === null;
}

function fillTenantPicker(tenants: Tenant[] | null): void {
  byId('tenant-label', HTMLLabelElement).hidden = tenants === null;
  const picker = byId('tenant', HTMLSelectElement);
  const chosen = picker.value;
  picker.replaceChildren(
    el('option', { value: '' }, 'all tenants'),
    ...(tenants ?? []).map((t) =>
      el('option', { value: t.id }, t.forgotten_at ? `${t.name} (forgotten)` : t.name),
    ),
  );
  picker.value = tenants?.some((t) => t.id === chosen) ? chosen : '';
}

/**
 * Asks the admin API what it will tell this key. An admin key gets the tenant picker and key names;
 * any other key sees its own tenant and key ids.
 */
export async function loadAccess(): Promise<Access> {
  const admin = await isAdminKey();
  const [tenants, keys] = admin
    ? await Promise.all([
        getJson<{ data: Tenant[] }>('/admin/tenants').then((l) => l.data),
        getJson<{ data: ApiKey[] }>('/admin/keys').then((l) => l.data),
      ])
    : [null, []];
  fillTenantPicker(tenants);
  byId('who', HTMLSpanElement).textContent =
    tenants === null ? 'Tenant analytics key' : 'Admin key';
  return {
    isAdmin: tenants !== null,
    keyNames: new Map(keys.map((k) => [k.id, k.name])),
  };
}
