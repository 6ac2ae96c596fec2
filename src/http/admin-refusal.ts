import { AdminRefusal } from '../keys/admin-refusal.js';
import { GatewayError } from './errors.js';

/** Turns an administrative refusal into the HTTP error the client sees; other errors pass as is. */
export function adminHttpError(err: unknown): unknown {
  if (!(err instanceof AdminRefusal)) return err;
  switch (err.reason) {
    case 'invalid':
      return GatewayError.invalidRequest(err.message, err.field, 'invalid_value');
    case 'missing':
      return GatewayError.invalidRequest(err.message, err.field, 'missing_required_parameter');
    case 'unrecognized':
      return GatewayError.invalidRequest(err.message, err.field, 'unknown_parameter');
    case 'unknown':
      return GatewayError.notFound(err.message);
    case 'exists':
      return GatewayError.conflict(err.message, `${err.subject}_exists`, err.field);
    case 'forgotten':
      return GatewayError.conflict(err.message, `${err.subject}_forgotten`, err.field);
    case 'own':
      return GatewayError.conflict(err.message, `${err.subject}_in_use`, err.field);
  }
}

/** Runs an administrative operation, turning its refusals into HTTP errors. */
export async function asAdminRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw adminHttpError(err);
  }
}
