import { randomBytes } from 'node:crypto';

/** The prefixes OpenAI gives its ids: a response, a message, a function call item, its output, a call. */
export type ItemIdPrefix = 'resp' | 'msg' | 'fc' | 'fco' | 'call';

/** A new id in OpenAI's shape (`resp_…`, `msg_…`, `fc_…`): the prefix and 50 random hex digits. */
export function newItemId(prefix: ItemIdPrefix): string {
  return `${prefix}_${randomBytes(25).toString('hex')}`;
}
