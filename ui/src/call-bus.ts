// The call's events on their way to the call screen, which may not be listening yet.

import type { CallEvent } from "./api";

/** Holds a call's events until the call screen listens. */
export class CallBus {
  private queue: CallEvent[] = [];
  private listener: ((e: CallEvent) => void) | null = null;

  push(e: CallEvent): void {
    if (this.listener) this.listener(e);
    else this.queue.push(e);
  }

  listen(listener: ((e: CallEvent) => void) | null): void {
    this.listener = listener;
    if (listener) for (const e of this.queue.splice(0)) listener(e);
  }
}
