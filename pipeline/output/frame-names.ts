/**
 * Names of the numbered frame files in a frames ZIP (`frame-000.png`, …): shared by the pipeline's
 * ZIP, the ZIP the browser makes from a GIF, and the LaTeX `animate` snippet. No dependencies, so
 * page scripts can import it.
 */

/** Digits of the frame numbers: at least 3, so names sort and `animate` sees one width. */
export function frameDigits(count: number): number {
  return Math.max(3, String(Math.max(count - 1, 0)).length);
}

/** Name of frame `i` of `count` inside the ZIP, e.g. `frame-007.png`. */
export function frameName(i: number, count: number): string {
  return `frame-${String(i).padStart(frameDigits(count), '0')}.png`;
}
