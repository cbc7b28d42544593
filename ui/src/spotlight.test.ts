import { describe, expect, it } from "vitest";
import type { Member } from "./api";
import {
  backToGrid,
  followMembers,
  NO_SPOTLIGHT,
  spotlightCell,
  spotlighted,
  togglePin,
} from "./spotlight";

const m = (userId: string, tile: number | null, sharingScreen = false, isSelf = false): Member => ({
  userId,
  userName: userId,
  isCreator: false,
  isSelf,
  tile,
  sharingScreen,
});

describe("spotlight", () => {
  it("is the grid until someone shares, then shows the sharer large", () => {
    let s = followMembers(NO_SPOTLIGHT, [m("me", null, false, true), m("ann", 0), m("bob", 1)]);
    expect(spotlighted(s)).toBeNull();
    const members = [m("me", null, false, true), m("ann", 0), m("bob", 1, true)];
    s = followMembers(s, members);
    expect(spotlighted(s)).toBe("bob");
    expect(spotlightCell(s, members)).toBe(2);
  });

  it("never spotlights our own share", () => {
    const s = followMembers(NO_SPOTLIGHT, [m("me", null, true, true), m("ann", 0)]);
    expect(spotlighted(s)).toBeNull();
  });

  it("gives the spotlight to the latest to start sharing, and back when they stop", () => {
    let s = followMembers(NO_SPOTLIGHT, [m("ann", 0, true), m("bob", 1)]);
    s = followMembers(s, [m("ann", 0, true), m("bob", 1, true)]);
    expect(spotlighted(s)).toBe("bob");
    s = followMembers(s, [m("ann", 0, true), m("bob", 1)]);
    expect(spotlighted(s)).toBe("ann");
    s = followMembers(s, [m("ann", 0), m("bob", 1)]);
    expect(spotlighted(s)).toBeNull();
  });

  it("keeps a pin until a new share starts", () => {
    let s = togglePin(followMembers(NO_SPOTLIGHT, [m("ann", 0), m("bob", 1)]), "ann");
    s = followMembers(s, [m("ann", 0, false), m("bob", 1)]);
    expect(spotlighted(s)).toBe("ann");
    s = followMembers(s, [m("ann", 0), m("bob", 1, true)]);
    expect(spotlighted(s)).toBe("bob");
  });

  it("goes back to the grid from a share until that member shares anew", () => {
    let s = followMembers(NO_SPOTLIGHT, [m("ann", 0, true)]);
    s = backToGrid(s);
    expect(spotlighted(s)).toBeNull();
    s = followMembers(s, [m("ann", 0, true), m("bob", 1)]);
    expect(spotlighted(s)).toBeNull();
    s = followMembers(s, [m("ann", 0), m("bob", 1)]);
    s = followMembers(s, [m("ann", 0, true), m("bob", 1)]);
    expect(spotlighted(s)).toBe("ann");
  });

  it("unpinning the member shown large goes back to the grid, even a sharer", () => {
    let s = followMembers(NO_SPOTLIGHT, [m("ann", 0, true), m("bob", 1)]);
    s = togglePin(s, "ann");
    expect(spotlighted(s)).toBeNull();
    s = togglePin(s, "bob");
    expect(spotlighted(s)).toBe("bob");
  });

  it("drops the spotlight of a member who left or lost their tile", () => {
    let s = togglePin(NO_SPOTLIGHT, "ann");
    s = followMembers(s, [m("ann", null), m("bob", 0)]);
    expect(spotlighted(s)).toBeNull();
    expect(spotlightCell(togglePin(s, "me"), [m("me", null, false, true)])).toBe(0);
  });
});
