import type { NewInteraction } from '../storage/schema.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * How long interactions keep their text and their rows; undefined keeps them forever. Stored
 * responses and conversation items are text: they go at the shorter of the two.
 */
export interface RetentionPolicy {
  contentDays: number | undefined;
  rowsDays: number | undefined;
}

/** A policy at one instant: rows created before `contentBefore` lose their text, before `rowsBefore` go. */
export interface RetentionCutoffs {
  contentBefore: Date | undefined;
  rowsBefore: Date | undefined;
}

/** What retention removed from a set of rows. */
export interface RowsPruned {
  rowsDeleted: number;
  contentErased: number;
}

/** The cut-offs `policy` gives at `now` (epoch milliseconds). */
export function cutoffsAt(policy: RetentionPolicy, now: number): RetentionCutoffs {
  const before = (days: number | undefined) =>
    days === undefined ? undefined : new Date(now - days * DAY_MS);
  return { contentBefore: before(policy.contentDays), rowsBefore: before(policy.rowsDays) };
}

/**
 * Before when stored responses and conversation items go: they are text, so at the later (the
 * shorter window's) of the two cut-offs; undefined when neither is set.
 */
export function storedBefore(cutoffs: RetentionCutoffs): Date | undefined {
  const { contentBefore, rowsBefore } = cutoffs;
  if (contentBefore === undefined) return rowsBefore;
  if (rowsBefore === undefined) return contentBefore;
  return new Date(Math.max(contentBefore.getTime(), rowsBefore.getTime()));
}

/**
 * What the retention pass leaves of one row, as it treats rows in the database: null when the row
 * is past the rows cut-off, the row without its text when past the content cut-off, else the row.
 */
export function retainRow(
  row: NewInteraction,
  cutoffs: RetentionCutoffs,
): { row: NewInteraction | null; pruned: keyof RowsPruned | null } {
  const created = row.createdAt.getTime();
  if (cutoffs.rowsBefore !== undefined && created < cutoffs.rowsBefore.getTime()) {
    return { row: null, pruned: 'rowsDeleted' };
  }
  const hasText = row.requestEnc != null || row.responseEnc != null;
  if (hasText && cutoffs.contentBefore !== undefined && created < cutoffs.contentBefore.getTime()) {
    return { row: { ...row, requestEnc: null, responseEnc: null }, pruned: 'contentErased' };
  }
  return { row, pruned: null };
}

/** `retainRow` over a batch: the rows kept (in order), and counts added to `pruned`. */
export function retainRows(
  rows: readonly NewInteraction[],
  cutoffs: RetentionCutoffs,
  pruned: RowsPruned,
): NewInteraction[] {
  const kept: NewInteraction[] = [];
  for (const r of rows) {
    const result = retainRow(r, cutoffs);
    if (result.pruned !== null) pruned[result.pruned]++;
    if (result.row !== null) kept.push(result.row);
  }
  return kept;
}
