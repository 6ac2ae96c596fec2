import { findEditWindows } from './edit-windows.js';
import { countTokensWithEncoding, hasLongRun, type TokenEncoding } from './token-count.js';

/**
 * The token count of `next`, an edited version of `previous` whose count is known, found by
 * tokenizing only the windows around the edits ({@link findEditWindows}): the texts are equal
 * outside them and cut into separately counted stretches at the windows' ends, so the count
 * changes by exactly the windows' difference. A text with a run counted in slices (see
 * MAX_RUN_CHARS) is not cut that way at every point, and is counted whole.
 */
export function countEditedTokens(
  previous: string,
  previousTokens: number,
  next: string,
  encoding: TokenEncoding,
): number {
  if (next === previous) return previousTokens;
  if (hasLongRun(next) || hasLongRun(previous)) {
    const change =
      countTokensWithEncoding(next, encoding) - countTokensWithEncoding(previous, encoding);
    return previousTokens + change;
  }
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
