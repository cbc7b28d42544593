// Rolling figures of a feed: rates over a short window, percentiles over recent samples.

export const RATE_WINDOW_MS = 2000;
export const SAMPLE_WINDOW = 120;

export class RateMeter {
  private events: [number, number][] = [];

  record(now: number, amount: number): void {
    this.events.push([now, amount]);
    this.expire(now);
  }

  perSecond(now: number): number {
    this.expire(now);
    const total = this.events.reduce((sum, [, a]) => sum + a, 0);
    return (total * 1000) / RATE_WINDOW_MS;
  }

  private expire(now: number): void {
    while (this.events.length > 0 && now - this.events[0][0] > RATE_WINDOW_MS) this.events.shift();
  }
}

export class Samples {
  private values: number[] = [];

  push(v: number): void {
    if (!Number.isFinite(v)) return;
    this.values.push(v);
    if (this.values.length > SAMPLE_WINDOW) this.values.shift();
  }

  get length(): number {
    return this.values.length;
  }

  /** The p-th percentile by nearest rank, or null with no samples. */
  percentile(p: number): number | null {
    if (this.values.length === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * sorted.length);
    return sorted[Math.min(Math.max(rank - 1, 0), sorted.length - 1)];
  }
}
