import { isTokenCut } from './token-cut.js';

/** Characters that must agree after a difference before the texts count as back in step. */
const SYNC_LENGTH = 4;
/** Differences up to this many characters (both texts together) are placed exhaustively. */
const NEAR_SKIP = 32;
/** Probe length when looking further ahead for where the texts agree again. */
const ANCHOR_LENGTH = 16;
/** Windows closer than this are joined: one longer count costs less than two calls. */
const MIN_GAP = 16;
/** Comparisons allowed per character of the two texts before the rest goes into one window. */
const EFFORT_PER_CHAR = 2;

/** `[previousStart, previousEnd)` of the earlier text became `[nextStart, nextEnd)` of the later. */
export interface EditWindow {
  previousStart: number;
  previousEnd: number;
  nextStart: number;
  nextEnd: number;
}

/**
 * The windows in which `next` differs from `previous`. Outside them the two texts are the same
 * characters in the same order, and every window starts and ends at a token cut
 * ({@link isTokenCut}) of both texts, so the token count of `next` is that of `previous` plus,
 * for each window, its count in `next` minus its count in `previous`.
 *
 * Built for small scattered edits (whitespace, line ends, removed phrases): the texts are walked
 * together and put back in step after each difference. How they are put back in step only
 * decides how large the windows get, never whether the result holds: every character left
 * outside a window has been compared equal, and a difference that cannot be placed (or a text
 * so densely edited that placing the differences would cost more than counting) puts the rest of
 * both texts in one window.
 */
export function findEditWindows(previous: string, next: string): EditWindow[] {
  return new EditWalk(previous, next).run();
}

class EditWalk {
  /** The walk's position in each text. */
  private p = 0;
  private n = 0;
  private readonly windows: EditWindow[] = [];
  /** Comparisons left for putting the texts back in step. */
  private effort: number;

  constructor(
    private readonly previous: string,
    private readonly next: string,
  ) {
    this.effort = EFFORT_PER_CHAR * (previous.length + next.length);
  }

  run(): EditWindow[] {
    // Where the last window ended: a cut in both texts, followed by equal characters only.
    let settledPrevious = 0;
    for (;;) {
      this.skipEqual();
      if (this.p === this.previous.length && this.n === this.next.length) return this.windows;
      let previousStart = this.p;
      let nextStart = this.n;
      while (
        previousStart > settledPrevious &&
        !(isTokenCut(this.previous, previousStart) && isTokenCut(this.next, nextStart))
      ) {
        previousStart--;
        nextStart--;
      }
      do this.resync();
      while (!this.advanceToCut());
      this.addWindow({ previousStart, previousEnd: this.p, nextStart, nextEnd: this.n });
      settledPrevious = this.p;
    }
  }

  private addWindow(window: EditWindow): void {
    const last = this.windows.at(-1);
    if (last !== undefined && window.previousStart - last.previousEnd < MIN_GAP) {
      last.previousEnd = window.previousEnd;
      last.nextEnd = window.nextEnd;
    } else {
      this.windows.push(window);
    }
  }

  private skipEqual(): void {
    const { previous, next } = this;
    let p = this.p;
    let n = this.n;
    while (
      p < previous.length &&
      n < next.length &&
      previous.charCodeAt(p) === next.charCodeAt(n)
    ) {
      p++;
      n++;
    }
    this.p = p;
    this.n = n;
  }

  /** Walks equal characters to the first cut of both texts; false if they differ again first. */
  private advanceToCut(): boolean {
    const { previous, next } = this;
    for (;;) {
      if (isTokenCut(previous, this.p) && isTokenCut(next, this.n)) return true;
      if (this.p >= previous.length || this.n >= next.length) return false;
      if (previous.charCodeAt(this.p) !== next.charCodeAt(this.n)) return false;
      this.p++;
      this.n++;
    }
  }

  /** Moves past a difference to where the texts agree again (or to both ends). */
  private resync(): void {
    const skip = this.effort > 0 ? this.findSkip() : undefined;
    const [skipPrevious, skipNext] = skip ?? [
      this.previous.length - this.p,
      this.next.length - this.n,
    ];
    this.p += skipPrevious;
    this.n += skipNext;
  }

  /** Runs first (most edits shorten whitespace runs), then nearby, then further away. */
  private findSkip(): [number, number] | undefined {
    return this.runSkip() ?? this.nearSkip(SYNC_LENGTH) ?? this.anchoredSkip() ?? this.nearSkip(1);
  }

  /**
   * The smallest skip (removals from `previous` first) after which the texts agree on at least
   * `agreeing` characters or end together.
   */
  private nearSkip(agreeing: number): [number, number] | undefined {
    const restPrevious = this.previous.length - this.p;
    const restNext = this.next.length - this.n;
    for (let skip = 1; skip <= NEAR_SKIP; skip++) {
      const least = Math.max(0, skip - restNext);
      for (let fromPrevious = Math.min(skip, restPrevious); fromPrevious >= least; fromPrevious--) {
        if (this.agreeAt(this.p + fromPrevious, this.n + skip - fromPrevious, agreeing)) {
          return [fromPrevious, skip - fromPrevious];
        }
      }
    }
    return undefined;
  }

  /**
   * Past the runs at the walk's position (whitespace, or one character repeated, like a rule of
   * "=" signs) in both texts or in one, when the texts agree after them.
   */
  private runSkip(): [number, number] | undefined {
    const p = runEnd(this.previous, this.p);
    const n = runEnd(this.next, this.n);
    if (this.agreeAt(p, n, 1)) return [p - this.p, n - this.n];
    if (p > this.p && this.agreeAt(p, this.n, 1)) return [p - this.p, 0];
    if (n > this.n && this.agreeAt(this.p, n, 1)) return [0, n - this.n];
    return undefined;
  }

  /** A longer removal (or insertion): where what follows in one text shows up in the other. */
  private anchoredSkip(): [number, number] | undefined {
    const { previous, next, p, n } = this;
    let best: [number, number] | undefined;
    if (n < next.length) {
      const found = previous.indexOf(next.slice(n, n + ANCHOR_LENGTH), p + 1);
      this.effort -= (found >= 0 ? found : previous.length) - p;
      if (found >= 0) best = [found - p, 0];
    }
    if (p < previous.length) {
      const probe = previous.slice(p, p + ANCHOR_LENGTH);
      // Only an insertion shorter than the removal found above is worth searching for.
      const end = best === undefined ? next.length : n + best[0] + probe.length;
      const found = next.slice(n + 1, end).indexOf(probe);
      this.effort -= found >= 0 ? found : end - n;
      if (found >= 0 && (best === undefined || found + 1 < best[0])) best = [0, found + 1];
    }
    return best;
  }

  /** Whether the texts agree on `length` characters from `p` and `n`, or end together. */
  private agreeAt(p: number, n: number, length: number): boolean {
    const { previous, next } = this;
    this.effort--;
    for (let k = 0; k < length; k++) {
      const previousEnded = p + k >= previous.length;
      const nextEnded = n + k >= next.length;
      if (previousEnded || nextEnded) return previousEnded && nextEnded;
      if (previous.charCodeAt(p + k) !== next.charCodeAt(n + k)) return false;
    }
    return true;
  }
}

/** The end of the whitespace run, or else of the run of one repeated character, at `start`. */
function runEnd(text: string, start: number): number {
  if (start >= text.length) return start;
  const first = text.charCodeAt(start);
  let end = start + 1;
  if (isBlank(first)) {
    while (end < text.length && isBlank(text.charCodeAt(end))) end++;
  } else {
    while (end < text.length && text.charCodeAt(end) === first) end++;
  }
  return end;
}

function isBlank(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}
