import { describe, expect, it } from "vitest";
import type { Member } from "./api";
import {
  avatarHue,
  formatKbps,
  formatRung,
  gridCells,
  initials,
  listedMembers,
  MUTED_AFTER_MS,
  MUTED_HINT_REARM_QUIET_MS,
  MUTED_TALK_MS,
  MutedGuess,
  MutedTalkHint,
  pictureSize,
  removeMember,
  SPEAKING_HOLD_MS,
  SpeakingDetector,
  upsertMember,
} from "./model";

const m = (userId: string, tile: number | null, isSelf = false): Member => ({
  userId,
  userName: userId.toUpperCase(),
  isCreator: false,
  isSelf,
  tile,
  sharingScreen: false,
});

describe("grid model", () => {
  it("puts us first and members by their tile", () => {
    const members = [m("b", 2), m("me", null, true), m("c", 0), m("d", null)];
    const cells = gridCells(members);
    expect(cells.map((c) => c?.userId ?? null)).toEqual(["me", "c", null, "b"]);
    expect(listedMembers(members).map((x) => x.userId)).toEqual(["d"]);
  });

  it("updates members in place and keeps the order of arrival", () => {
    let list = [m("a", 0), m("b", 1)];
    list = upsertMember(list, { ...m("a", 0), userName: "Ann" });
    list = upsertMember(list, m("c", 2));
    expect(list.map((x) => x.userName)).toEqual(["Ann", "B", "C"]);
    expect(removeMember(list, "b").map((x) => x.userId)).toEqual(["a", "c"]);
  });

  it("makes initials by the room server's rule, for Chinese, English and mixed names", () => {
    // The same cases as the room server's own test of its avatars.
    for (const [name, want] of [
      ["小明 Ann", "小A"],
      ["ann lee", "AL"],
      ["Ann Marie Lee", "AL"],
      ["  Mary  Jane  Watson ", "MW"],
      ["ann", "A"],
      ["王小明", "王"],
      ["王 小明", "王小"],
      ["Ann 小明", "A小"],
      ["  émile  ", "É"],
      ["e\u0301mile zola", "E\u0301Z"],
      ["🇫🇷 Paris", "🇫🇷P"],
      ["ß x", "SS"],
      ["", "?"],
      ["   ", "?"],
      ["\u202e", "?"],
      ["\u202e Ann", "A"],
    ]) {
      expect(initials(name), JSON.stringify(name)).toBe(want);
    }
  });

  it("gives each member a stable colour", () => {
    expect(avatarHue("user_1")).toBe(avatarHue("user_1"));
    expect(avatarHue("user_1")).toBeGreaterThanOrEqual(0);
    expect(avatarHue("user_1")).toBeLessThan(360);
  });

  it("highlights speech at once and drops it only after a quiet spell", () => {
    const d = new SpeakingDetector();
    expect(d.update(0.001, 0)).toBe(false);
    expect(d.update(0.1, 100)).toBe(true);
    expect(d.update(0.001, 200)).toBe(true);
    expect(d.update(0.015, 300)).toBe(true);
    expect(d.update(0.001, 400)).toBe(true);
    expect(d.update(0.001, 400 + SPEAKING_HOLD_MS)).toBe(false);
  });

  it("guesses muted after a stretch of digital silence", () => {
    const g = new MutedGuess();
    expect(g.update(0, 0)).toBe(false);
    expect(g.update(0, MUTED_AFTER_MS - 1)).toBe(false);
    expect(g.update(0, MUTED_AFTER_MS)).toBe(true);
    expect(g.update(0.05, MUTED_AFTER_MS + 10)).toBe(false);
  });

  it("hints once per mute at someone talking while muted", () => {
    const hint = new MutedTalkHint();
    expect(hint.update(false, true, 0)).toBe(false);
    expect(hint.update(true, true, 0)).toBe(false);
    expect(hint.update(true, true, MUTED_TALK_MS - 1)).toBe(false);
    expect(hint.update(true, true, MUTED_TALK_MS)).toBe(true);
    // Sound at the microphone goes on and off: no more hints while the quiet stays short.
    let now = MUTED_TALK_MS;
    for (let i = 0; i < 20; i++) {
      now += 5_000;
      expect(hint.update(true, false, now)).toBe(false);
      now += 5_000;
      expect(hint.update(true, true, now)).toBe(false);
      expect(hint.update(true, true, now + MUTED_TALK_MS)).toBe(false);
    }
    // Unmuted talk is no reason.
    expect(hint.update(false, true, now)).toBe(false);
  });

  it("hints again after unmuting and muting, or after a long quiet", () => {
    const hint = new MutedTalkHint();
    hint.update(true, true, 0);
    expect(hint.update(true, true, MUTED_TALK_MS)).toBe(true);
    hint.update(false, false, 10_000);
    hint.update(true, true, 20_000);
    expect(hint.update(true, true, 20_000 + MUTED_TALK_MS)).toBe(true);

    const quiet = 30_000;
    hint.update(true, false, quiet);
    hint.update(true, false, quiet + MUTED_HINT_REARM_QUIET_MS - 1);
    hint.update(true, true, quiet + MUTED_HINT_REARM_QUIET_MS - 1);
    expect(hint.update(true, true, quiet + MUTED_HINT_REARM_QUIET_MS - 1 + MUTED_TALK_MS)).toBe(
      false,
    );

    const later = 200_000;
    hint.update(true, false, later);
    hint.update(true, false, later + MUTED_HINT_REARM_QUIET_MS);
    hint.update(true, true, later + MUTED_HINT_REARM_QUIET_MS);
    expect(hint.update(true, true, later + MUTED_HINT_REARM_QUIET_MS + MUTED_TALK_MS)).toBe(true);
  });

  it("formats bitrates", () => {
    expect(formatKbps(512.4)).toBe("512 kbps");
    expect(formatKbps(1530)).toBe("1.5 Mbps");
    expect(formatRung(480, 270, 180)).toBe("480×270 · 180 kbps");
  });
});

describe("picture size", () => {
  it("fits 16:9 inside the tile in device pixels", () => {
    expect(pictureSize(640, 400, 1)).toEqual([640, 360]);
    expect(pictureSize(800, 300, 1)).toEqual([533, 300]);
    expect(pictureSize(320, 180, 2)).toEqual([640, 360]);
  });
});
