import { describe, expect, it } from "vitest";
import {
  CHAT_NOTICE_CHARS,
  CHAT_NOTICE_NAME_CHARS,
  chatNotice,
  countLabel,
  ELLIPSIS,
  NOTICE_REPEAT_MS,
  type NoticeRecord,
  noteNotice,
  noticeKey,
  truncate,
} from "./notices";

describe("notice repeats", () => {
  it("count the same notice within the window and start again after it", () => {
    const left = noticeKey("info", "Ben left");
    let records: NoticeRecord[] = [];
    const show = (key: string, at: number) => {
      const noted = noteNotice(records, key, at);
      records = noted.records;
      return noted.count;
    };
    expect(show(left, 0)).toBe(1);
    expect(show(left, NOTICE_REPEAT_MS)).toBe(2);
    // The window runs from the last showing, so a steady repeat keeps counting.
    expect(show(left, 2 * NOTICE_REPEAT_MS)).toBe(3);
    expect(show(left, 3 * NOTICE_REPEAT_MS + 1)).toBe(1);
  });

  it("tell notices apart by words and kind, and forget quiet ones", () => {
    const noted = noteNotice([], noticeKey("info", "Ben left"), 0);
    expect(noteNotice(noted.records, noticeKey("info", "Cho left"), 1).count).toBe(1);
    expect(noteNotice(noted.records, noticeKey("error", "Ben left"), 1).count).toBe(1);
    const later = noteNotice(noted.records, noticeKey("info", "Cho left"), NOTICE_REPEAT_MS + 1);
    expect(later.records.map((r) => r.key)).toEqual([noticeKey("info", "Cho left")]);
  });

  it("show a count from the second time on", () => {
    expect(countLabel(1)).toBe("");
    expect(countLabel(3)).toBe("×3");
  });
});

describe("chat notices", () => {
  it("keep short messages whole, on one line", () => {
    expect(chatNotice("Ben", "hi\n  all")).toBe("Ben: hi all");
  });

  it("cut long messages and names to their limits, by characters as seen", () => {
    const long = "a".repeat(CHAT_NOTICE_CHARS + 5);
    const text = chatNotice("n".repeat(CHAT_NOTICE_NAME_CHARS + 1), long);
    const [name, body] = text.split(": ");
    expect([...name]).toHaveLength(CHAT_NOTICE_NAME_CHARS);
    expect([...body]).toHaveLength(CHAT_NOTICE_CHARS);
    expect(body.endsWith(ELLIPSIS)).toBe(true);
    // A family emoji is one character to the eye and is never split.
    const family = "👨‍👩‍👧";
    expect(truncate(family.repeat(4), 3)).toBe(family.repeat(2) + ELLIPSIS);
    expect(truncate("你好世界", 3)).toBe(`你好${ELLIPSIS}`);
    expect(truncate("你好", 2)).toBe("你好");
  });
});
