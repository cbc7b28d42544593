// Acknowledgements of the feeds' messages, gathered for a few milliseconds into one call: four
// feeds at 15 fps acknowledged one by one were 60 IPC round trips a second, a real share of the
// app's CPU. A feed's later acknowledgement covers its earlier ones.

import { api } from "../api";

/** How long an acknowledgement waits for others to share its call: short against the feeds'
 * windows (the app lets 4 access units, a quarter second, go unacknowledged). */
export const ACK_GATHER_MS = 15;

const pending = new Map<string, number>();
let scheduled = false;

/** Says the page has taken `feed`'s messages up to `seq`, soon. */
export function acknowledge(feed: string, seq: number): void {
  pending.set(feed, seq);
  if (scheduled) return;
  scheduled = true;
  setTimeout(flush, ACK_GATHER_MS);
}

function flush(): void {
  scheduled = false;
  const acks = [...pending].map(([feed, seq]) => ({ feed, seq }));
  pending.clear();
  if (acks.length > 0) api.videoAck(acks).catch(() => undefined);
}
