/**
 * Bounded top-K: the K best items seen so far, in a sorted array of at most K entries, so memory
 * does not grow with the number of photos (50 000 photos keep K entries per unit, not 50 000).
 * Ties are broken by `key` (ascending), so the result does not depend on the order photos arrive.
 */
export interface Ranked<T> {
  value: number;
  /** A stable identity (the photo's path): the tie-break. */
  key: string;
  item: T;
}

/** Whether a ranks before b: higher value first, then the smaller key. NaN ranks last. */
function before(a: { value: number; key: string }, b: { value: number; key: string }): boolean {
  const av = Number.isNaN(a.value) ? -Infinity : a.value;
  const bv = Number.isNaN(b.value) ? -Infinity : b.value;
  return av !== bv ? av > bv : a.key < b.key;
}

export class TopK<T> {
  /** Best first; never longer than k. */
  private readonly entries: Ranked<T>[] = [];

  constructor(readonly k: number) {
    if (!(k >= 1)) throw new Error(`TopK: k must be at least 1, got ${k}`);
  }

  /** Offers an item; kept only when it ranks among the best k. `item` is built only then. */
  offer(value: number, key: string, item: () => T): void {
    const e = this.entries;
    const candidate = { value, key };
    if (e.length === this.k && !before(candidate, e[e.length - 1]!)) return;
    // Binary search for the first entry the candidate ranks before.
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(candidate, e[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    e.splice(lo, 0, { value, key, item: item() });
    if (e.length > this.k) e.pop();
  }

  /** The best entries, best first. */
  sorted(): Ranked<T>[] {
    return [...this.entries];
  }

  get size(): number {
    return this.entries.length;
  }
}
