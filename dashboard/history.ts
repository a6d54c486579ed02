/** How many one-second points a chart keeps: five minutes. */
export const HISTORY_POINTS = 300;

/** The last HISTORY_POINTS values of one series, oldest first. */
export class Series {
  readonly values: number[] = [];

  push(v: number): void {
    this.values.push(Number.isFinite(v) ? v : 0);
    if (this.values.length > HISTORY_POINTS) this.values.splice(0, this.values.length - HISTORY_POINTS);
  }

  get last(): number {
    return this.values.length ? this.values[this.values.length - 1]! : 0;
  }
}

/**
 * SVG polyline points for `values` in a width × height box, right-aligned
 * (the newest point at the right edge, one point per step), scaled to `max`.
 */
export function polylinePoints(values: readonly number[], width: number, height: number, max: number): string {
  if (values.length === 0) return "";
  const step = width / (HISTORY_POINTS - 1);
  const x0 = width - (values.length - 1) * step;
  const scale = max > 0 ? (height - 2) / max : 0;
  return values
    .map((v, i) => `${round(x0 + i * step)},${round(height - 1 - Math.min(Math.max(v, 0), max) * scale)}`)
    .join(" ");
}

/** The top of a chart's scale for these series: their largest value, rounded up to a readable step. */
export function niceMax(...series: ReadonlyArray<readonly number[]>): number {
  let max = 0;
  for (const s of series) for (const v of s) if (v > max) max = v;
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (max <= m * p) return m * p;
  return 10 * p;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
