// What the call screen does with the call's events: members in and out, chat, the room closing,
// links lost and back, devices failing.

import type { CallEvent } from "../../api";
import { getLocale, type Key, t } from "../../i18n";
import { toast } from "../../toast";
import { type CallState, dropMember, putMember } from "./state";

/** What the events change on the call screen. */
export interface EventHooks {
  /** Lays the members out again. */
  layout(): void;
  addMessage(userId: string, name: string, text: string, time: number): void;
  /** Leaves the call (the room is gone). */
  leave(): void;
  /** Shows whether our stream goes out. */
  showLink(up: boolean): void;
  /** Forgets the figures of a member who left. */
  forget(userId: string): void;
}

/** Takes the event `e` into `state` and onto the screen. */
export function onCallEvent(state: CallState, e: CallEvent, hooks: EventHooks): void {
  if (state.disposed) return;
  switch (e.type) {
    case "joined":
      state.members = e.members;
      hooks.layout();
      break;
    case "memberJoined":
      putMember(state, e.member);
      hooks.layout();
      if (!e.member.isSelf) toast(t("toast.joined", { name: e.member.userName }));
      break;
    case "memberPromoted":
    case "memberUpdated": {
      const before = putMember(state, e.member);
      hooks.layout();
      if (e.member.sharingScreen && !before?.sharingScreen && !e.member.isSelf)
        toast(t("toast.sharingStarted", { name: e.member.userName }));
      break;
    }
    case "memberLeft":
      dropMember(state, e.member.userId);
      hooks.forget(e.member.userId);
      hooks.layout();
      toast(t("toast.left", { name: e.member.userName }));
      break;
    case "text":
      hooks.addMessage(e.userId, e.nickName, e.text, e.time);
      break;
    case "becameHost":
      toast(t("toast.becameHost"));
      break;
    case "roomClosed":
      toast(t("toast.roomClosed"), "info", undefined, { outlive: true });
      hooks.leave();
      break;
    // A tile's own state (waiting, stalled, reconnecting) comes with the figures.
    case "reconnecting":
      if (e.link.kind === "room") toast(t("toast.roomLost"), "error");
      break;
    case "reconnected":
      if (e.link.kind === "room") toast(t("toast.roomBack"));
      break;
    case "deviceError":
      toast(deviceErrorText(e.device, e.message), "error", e.message);
      break;
    case "uplinkLimited":
      // Once per call: the stats overlay keeps showing what we send.
      if (!state.uplinkToldSlow) toast(t("toast.uplinkSlow"));
      state.uplinkToldSlow = true;
      break;
    case "publisherState":
      hooks.showLink(e.state === "live");
      break;
  }
}

/** A device's failure in the current language; its own English detail is shown only in English. */
export function deviceErrorText(device: string, message: string): string {
  const name = t(`device.${device}` as Key);
  return getLocale() === "en"
    ? t("toast.deviceError", { device: name, message })
    : t("toast.deviceFailed", { device: name });
}
