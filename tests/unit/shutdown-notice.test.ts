import { describe, expect, it } from 'vitest';
import { ShutdownNotice, StopsOnShutdown } from '../../src/runtime/shutdown-notice.js';

class Work extends StopsOnShutdown {
  stops = 0;
  constructor(readonly name: string) {
    super();
  }
  stopForShutdown(): void {
    this.stops += 1;
  }
}

describe('ShutdownNotice', () => {
  it('stops exactly the work still watched, each once, whatever order it left in', () => {
    const notice = new ShutdownNotice();
    const works = ['a', 'b', 'c', 'd', 'e'].map((name) => new Work(name));
    for (const work of works) notice.watch(work);
    const [a, b, c, d, e] = works as [Work, Work, Work, Work, Work];
    notice.unwatch(c); // from the middle
    notice.unwatch(e); // the newest (the list's head)
    notice.unwatch(a); // the oldest (its tail)
    notice.unwatch(a); // twice: harmless
    expect(notice.begin()).toBe(2);
    expect(works.map((w) => w.stops)).toEqual([0, 1, 0, 1, 0]);
    expect([b.stops, d.stops]).toEqual([1, 1]);
    expect(notice.begin()).toBe(0);
    expect(d.stops).toBe(1);
  });

  it('keeps the list whole when neighbours leave one after the other', () => {
    const notice = new ShutdownNotice();
    const works = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => new Work(name));
    for (const work of works) notice.watch(work);
    const [a, b, c, d, e, f] = works as [Work, Work, Work, Work, Work, Work];
    for (const work of [c, b, d, f, a]) notice.unwatch(work);
    expect(notice.begin()).toBe(1);
    expect(works.map((w) => w.stops)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(e.stops).toBe(1);
  });

  it('stops work that starts after the shutdown began at once, and keeps none of it', () => {
    const notice = new ShutdownNotice();
    expect(notice.begun).toBe(false);
    notice.begin();
    const late = new Work('late');
    notice.watch(late);
    expect(late.stops).toBe(1);
    expect(notice.begun).toBe(true);
  });

  it('watches work again after it was unwatched', () => {
    const notice = new ShutdownNotice();
    const work = new Work('again');
    notice.watch(work);
    notice.unwatch(work);
    notice.watch(work);
    expect(notice.begin()).toBe(1);
    expect(work.stops).toBe(1);
  });
});
