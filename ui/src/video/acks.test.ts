import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../api";
import { ACK_GATHER_MS, acknowledge } from "./acks";

describe("feed acknowledgements", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("go together, the latest of each feed, once the gathering time is over", async () => {
    vi.useFakeTimers();
    const sent = vi.spyOn(api, "videoAck").mockResolvedValue(undefined);
    acknowledge("tile-0#1", 1);
    acknowledge("self#2", 7);
    acknowledge("tile-0#1", 2);
    expect(sent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(ACK_GATHER_MS);
    expect(sent).toHaveBeenCalledTimes(1);
    expect(sent).toHaveBeenCalledWith([
      { feed: "tile-0#1", seq: 2 },
      { feed: "self#2", seq: 7 },
    ]);
    acknowledge("self#2", 8);
    vi.advanceTimersByTime(ACK_GATHER_MS);
    expect(sent).toHaveBeenCalledTimes(2);
    expect(sent).toHaveBeenLastCalledWith([{ feed: "self#2", seq: 8 }]);
  });
});
