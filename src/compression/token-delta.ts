import { countTokensWithEncoding, type TokenEncoding } from './token-count.js';

const NEWLINE = 0x0a;
const SLASH = 0x2f;
const UNICODE_SPACE = /\s/;

/**
 * The token count of `next`, an edited version of `previous` whose count is known, found by
 * tokenizing only the blocks that differ. Texts are cut after each line break followed by a
 * character the tokenizer's pre-split never joins across a line break (anything but whitespace
 * and "/"), so a text's count is exactly the sum of its blocks' counts.
 */
export function countEditedTokens(
  previous: string,
  previousTokens: number,
  next: string,
  encoding: TokenEncoding,
): number {
  if (next === previous) return previousTokens;
  const unmatched = new Map<string, number>();
  for (const block of splitBlocks(previous)) unmatched.set(block, (unmatched.get(block) ?? 0) + 1);
  let tokens = previousTokens;
  for (const block of splitBlocks(next)) {
    const left = unmatched.get(block) ?? 0;
    if (left > 0) unmatched.set(block, left - 1);
    else tokens += countTokensWithEncoding(block, encoding);
  }
  for (const [block, left] of unmatched) {
    if (left > 0) tokens -= left * countTokensWithEncoding(block, encoding);
  }
  return tokens;
}

/** Cuts a text into blocks whose token counts add up to the text's count. */
export function splitBlocks(text: string): string[] {
  const blocks: string[] = [];
  let start = 0;
  let newline = text.indexOf('\n');
  while (newline >= 0) {
    const next = newline + 1;
    if (next < text.length && isBlockStart(text, next)) {
      blocks.push(text.slice(start, next));
      start = next;
    }
    newline = text.indexOf('\n', next);
  }
  blocks.push(start === 0 ? text : text.slice(start));
  return blocks;
}

function isBlockStart(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  if (code === NEWLINE || code === SLASH) return false;
  if (code < 0x80) return code > 0x20;
  return !UNICODE_SPACE.test(text.charAt(index));
}
