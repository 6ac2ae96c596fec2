/**
 * `indexOf` for scans that only move forward: remembers the last hit so that asking again from a
 * later position costs nothing until that hit is passed. A scan that looks for the same needle
 * from every line stays linear in the text length instead of quadratic.
 */
export class ForwardFinder {
  private searchedFrom = Number.POSITIVE_INFINITY;
  private hit = -1;

  constructor(
    private readonly text: string,
    private readonly needle: string,
  ) {}

  /** First index of the needle at or after `from`, or -1. */
  next(from: number): number {
    if (from >= this.searchedFrom && (this.hit < 0 || this.hit >= from)) return this.hit;
    this.searchedFrom = from;
    this.hit = this.text.indexOf(this.needle, from);
    return this.hit;
  }
}
