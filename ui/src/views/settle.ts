// A grid's size, told once it stops changing: pictures are decoded at the size they are shown,
// and a window being dragged larger should not restart every decoder on each step.

/** How long the grid must keep a size before tiles are decoded at it. */
export const RESIZE_SETTLE_MS = 300;

/** A ResizeObserver that reports once the size settles (and does nothing where there is none). */
export class ResizeObserverShim {
  private observer: ResizeObserver | null = null;
  private timer: number | undefined;

  constructor(private readonly settled: () => void) {
    if (typeof ResizeObserver !== "undefined") {
      this.observer = new ResizeObserver(() => {
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(this.settled, RESIZE_SETTLE_MS);
      });
    }
  }

  /** Reports the size soon even if it did not change (a tile got a new member). */
  kick(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(this.settled, RESIZE_SETTLE_MS);
  }

  observe(el: Element): void {
    this.observer?.observe(el);
  }

  disconnect(): void {
    window.clearTimeout(this.timer);
    this.observer?.disconnect();
  }
}
