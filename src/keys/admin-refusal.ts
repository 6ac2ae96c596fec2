/**
 * Why an administrative request was refused: a bad value, a missing or unrecognized field, an
 * unknown target, a name already taken, a tenant already forgotten, or an act that would take
 * away the caller's own access (forgetting the tenant of the key making the request).
 */
export type AdminRefusalReason =
  | 'invalid'
  | 'missing'
  | 'unrecognized'
  | 'unknown'
  | 'exists'
  | 'forgotten'
  | 'own';

/** What an administrative act is about. */
export type AdminSubject = 'key' | 'tenant';

/**
 * A refused administrative request (bad input or a state that forbids it). Services throw it; the
 * HTTP edge turns it into a status and OpenAI's error body, the CLI into one line and exit 2.
 */
export class AdminRefusal extends Error {
  readonly reason: AdminRefusalReason;
  /** The offending field as the request spells it (`scopes[1]`), or null. */
  readonly field: string | null;
  readonly subject: AdminSubject;

  constructor(options: {
    reason: AdminRefusalReason;
    message: string;
    field?: string | null;
    subject?: AdminSubject;
  }) {
    super(options.message);
    this.name = 'AdminRefusal';
    this.reason = options.reason;
    this.field = options.field ?? null;
    this.subject = options.subject ?? 'key';
  }
}
