import { type DuplicateRegistry, duplicateKey } from './duplicate-registry.js';
import { findProtectedSpans } from './protected-spans.js';
import { splitUnits, type TextUnit } from './text-units.js';

/**
 * Removes paragraphs and then sentences (or lines) that already appeared, exactly or nearly
 * (see `duplicateKey`), earlier in this text or in earlier messages recorded in `registry`, and
 * records the rest. Units that touch code, URLs, quotes or structured text, or are short, are
 * never removed; units with digits only when repeated exactly (see `duplicateKey`). Leaves stray spaces and blank lines for the safe pass to tidy.
 */
export function removeDuplicateUnits(text: string, registry: DuplicateRegistry): string {
  const removed = findDuplicates(text, registry, true);
  if (removed.length === 0) return text;
  let out = '';
  let pos = 0;
  for (const unit of removed) {
    out += text.slice(pos, unit.start);
    pos = unit.end;
    // The blanks after a removed unit go with it (so no space is left at the start of a line),
    // and a removed whole line takes its line break too (so no blank line is left behind).
    while (text.charCodeAt(pos) === 0x20 || text.charCodeAt(pos) === 0x09) pos++;
    if (unit.wholeLine && text.charCodeAt(pos) === 0x0a) pos++;
  }
  return out + text.slice(pos);
}

/** Records a text's sentences and paragraphs (for a message too small to be compressed). */
export function registerUnits(text: string, registry: DuplicateRegistry): void {
  findDuplicates(text, registry, false);
}

function findDuplicates(text: string, registry: DuplicateRegistry, remove: boolean): TextUnit[] {
  const units = splitUnits(text, findProtectedSpans(text));
  const removed: TextUnit[] = [];
  let first = 0;
  while (first < units.length) {
    const paragraph = units[first]?.paragraph;
    let last = first;
    while (last < units.length && units[last]?.paragraph === paragraph) last++;
    const group = units.slice(first, last);
    first = last;
    const start = group[0]?.start ?? 0;
    const end = group[group.length - 1]?.end ?? 0;
    const paragraphKey = group.some((unit) => unit.protected)
      ? undefined
      : duplicateKey(text.slice(start, end));
    if (paragraphKey !== undefined && registry.seenParagraph(paragraphKey) && remove) {
      removed.push(...group);
      continue;
    }
    for (const unit of group) {
      if (unit.protected) continue;
      const key = duplicateKey(text.slice(unit.start, unit.end));
      if (key !== undefined && registry.seenUnit(key) && remove) removed.push(unit);
    }
  }
  return removed;
}
