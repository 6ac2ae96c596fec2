import { randomBytes } from 'node:crypto';

/** The prefixes OpenAI gives its ids: a response, an output message, a function call and its output. */
export type ItemIdPrefix = 'resp' | 'msg' | 'fc' | 'fco';

/** A new id in OpenAI's shape (`resp_…`, `msg_…`, `fc_…`): the prefix and 50 random hex digits. */
export function newItemId(prefix: ItemIdPrefix): string {
  return `${prefix}_${randomBytes(25).toString('hex')}`;
}
