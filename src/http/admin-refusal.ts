import { KeyAdminError } from '../keys/key-admin.js';
import { TenantAdminError } from '../tenants/tenant-admin.js';
import { GatewayError } from './errors.js';

function sentence(text: string): string {
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return capitalised.endsWith('.') ? capitalised : `${capitalised}.`;
}

/** Turns a refusal from src/admin into the HTTP error the client sees; other errors pass as is. */
export function adminHttpError(err: unknown): unknown {
  if (err instanceof KeyAdminError) {
    return GatewayError.invalidRequest(sentence(err.message), err.field, 'invalid_value');
  }
  if (err instanceof TenantAdminError) {
    const message = sentence(err.message);
    switch (err.reason) {
      case 'unknown':
        return GatewayError.notFound(message);
      case 'forgotten':
        return GatewayError.conflict(message, 'tenant_forgotten');
      case 'exists':
        return GatewayError.conflict(message, 'tenant_exists', 'name');
      case 'invalid_name':
        return GatewayError.invalidRequest(message, 'name', 'invalid_value');
    }
  }
  return err;
}

/** Runs an administrative operation, turning its refusals into HTTP errors. */
export async function asAdminRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw adminHttpError(err);
  }
}
