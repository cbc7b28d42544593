// The call: a 2×2 grid (us top left, mirrored for a real camera; up to three members), controls,
// chat and people. Its parts live in ./call/ over one state; this puts them together.

import { api, type CallEvent, type CallInfo } from "../api";
import type { CallBus } from "../call-bus";
import { h } from "../dom";
import type { RoomChoice, Shell, View } from "../shell";
import { dockNotices, undockNotices } from "../toast";
import { videoEncoding } from "../video/feed";
import { CallControls } from "./call/controls";
import { DevicesPopover } from "./call/devices";
import { onCallEvent } from "./call/events";
import { CallGrid } from "./call/grid";
import { renderHeader } from "./call/header";
import { type CallState, newCallState } from "./call/state";
import { CallStats } from "./call/stats";
import { bindCallKeys, type CallKeys } from "./call-keys";
import { recordControl } from "./record";
import { renderSidePanel, type SidePanel } from "./side-panes";

/** The call screen for the call `info` in `room`, taking the call's events from `bus`. */
export function renderCall(app: Shell, room: RoomChoice, info: CallInfo, bus: CallBus): View {
  const state = newCallState(info);
  const grid = new CallGrid(app, state);
  const record = recordControl(app);
  const header = renderHeader(app, room, info, record.mark, grid.backButton);
  // The controls open what is made after them: the hooks run only once the screen is up.
  const controls: CallControls = new CallControls(app, state, grid, record, {
    togglePanel: (which) => side.toggle(which),
    toggleStats: () => stats.toggle(),
    toggleDevices: () => void devices.toggle(),
    devicesOpen: () => devices.open,
  });
  const devices = new DevicesPopover(app, state, controls, grid);
  const side = renderSidePanel(app, state, info.userId, controls);
  const stats = new CallStats(state, grid, controls, header.linkDot);

  function layout(): void {
    grid.place();
    controls.showMicAndCamera();
    grid.mirrorSelf(app.settings.camera);
    controls.showPeopleCount();
    side.showPeople();
    grid.showSpotlight();
    grid.resized();
  }
  const onEvent = (e: CallEvent) =>
    onCallEvent(state, e, {
      layout,
      addMessage: side.addMessage,
      leave: () => void controls.leave(),
      showLink: (up) => header.linkDot.classList.toggle("up", up),
      forget: (userId) => stats.forget(userId),
    });

  const keys = bindKeys(state, controls, side);
  const notices = noticeLane();

  const element = h(
    "div",
    { class: "call", testid: "call" },
    h(
      "div",
      { class: "stage" },
      header.element,
      grid.element,
      notices,
      devices.element,
      controls.element,
    ),
    side.element,
    keys.status,
  );

  void (async () => {
    state.encoding = await videoEncoding(app.settings.videoPath);
    element.dataset.encoding = state.encoding;
    layout();
    controls.showMicAndCamera();
    bus.listen(onEvent);
    stats.poll();
    controls.startMeter();
  })();

  devices.listen();
  // The window's close button while we host others: the same question, then quit.
  const unlistenClose = api
    .onCloseRequested(() => void controls.leaveAsChosen(() => void api.appQuit()))
    .catch(() => null);

  return {
    element,
    dispose() {
      state.disposed = true;
      // Unlistening can fail once the app's event bridge is gone (the window closing).
      void unlistenClose.then((u) => u?.()).catch(() => undefined);
      devices.dispose();
      bus.listen(null);
      undockNotices(notices);
      stats.stop();
      controls.dispose();
      side.dispose();
      grid.dispose();
      keys.dispose();
      grid.closeFeeds();
    },
  };
}

/** The call's shortcuts and push-to-talk, each acting as its control does. */
function bindKeys(state: CallState, controls: CallControls, side: SidePanel): CallKeys {
  return bindCallKeys(
    {
      run: {
        mute: () => controls.toggleMic(),
        camera: () => controls.toggleCamera(),
        chat: () => side.toggle("chat"),
        leave: () => void controls.leaveAsChosen(),
      },
      micMuted: () => state.micMuted,
      setMic: (muted) => void controls.setMic(muted),
    },
    controls.keyed,
  );
}

/** Notices sit in a lane of their own, so none covers a face; they leave with the call. */
function noticeLane(): HTMLElement {
  const notices = h("div", {
    class: "notices",
    testid: "notices",
    attrs: { "aria-live": "polite" },
  });
  dockNotices(notices);
  return notices;
}
