import { findEditWindows } from './edit-windows.js';
import { countTokensWithEncoding, type TokenEncoding } from './token-count.js';

/**
 * The token count of `next`, an edited version of `previous` whose count is known, found by
 * tokenizing only the windows around the edits ({@link findEditWindows}): the texts are equal
 * outside them and cut into separately counted stretches at the windows' ends, so the count
 * changes by exactly the windows' difference.
 */
export function countEditedTokens(
  previous: string,
  previousTokens: number,
  next: string,
  encoding: TokenEncoding,
): number {
  if (next === previous) return previousTokens;
  let tokens = previousTokens;
  for (const window of findEditWindows(previous, next)) {
    tokens += countTokensWithEncoding(next.slice(window.nextStart, window.nextEnd), encoding);
    tokens -= countTokensWithEncoding(
      previous.slice(window.previousStart, window.previousEnd),
      encoding,
    );
  }
  return tokens;
}
