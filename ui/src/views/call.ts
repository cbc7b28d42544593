// The call: a 2×2 grid (us top left, mirrored for a real camera; up to three members), controls, chat and people.

import { api, errorDetail, errorText, type CallEvent, type CallInfo, type Encoding, type Devices, type LeaveMode, type Stats, type TileState } from "../api";
import type { CallBus } from "../call-bus";
import type { RoomChoice, Shell, View } from "../shell";
import { clear, h, icon, ICONS, nameIcon } from "../dom";
import { getLocale, t, tx, txAttr, type Key } from "../i18n";
import { MutedGuess, MutedTalkHint, SpeakingDetector, formatKbps, formatRung, gridCells, judgesQuality, pictureSize, removeMember, upsertMember } from "../model";
import { audioChoice, mirrorsSelfView, videoChoice } from "../settings";
import { chatNotice } from "../notices";
import { dockNotices, openFolder, toast, undockNotices } from "../toast";
import { buildInvite, buildInviteLink, inviteServer, loopbackOnly } from "../invite";
import { renderDiagnostics } from "./diagnostics";
import { chooseLeaveMode } from "./leave";
import { recordControl } from "./record";
import { ShareCancelled, chooseScreenShare } from "./screen-picker";
import { webCodecsSupported } from "../video/feed";
import { Tile } from "./tile";
import { ResizeObserverShim } from "./settle";
import { renderChat, renderPeople } from "./side-panes";
import { bindCallKeys } from "./call-keys";
import { NO_SPOTLIGHT, backToGrid, followMembers, spotlightCell, togglePin as pinOrUnpin, type Spotlight } from "../spotlight";

/** How often the figures behind the speaking highlight and the stats overlay are read. */
export const STATS_POLL_MS = 500;
/** How often the live microphone meter reads our level (as the pre-join meter does). */
export const MIC_METER_POLL_MS = 100;
/** RMS shown as a full meter (speech is well below 1.0). */
export const MIC_METER_FULL = 0.3;
/** Names of the demo members (drawn into their test patterns, so kept in Latin letters). */
export const DEMO_NAMES = ["Demo Ann", "Demo Ben", "Demo Cho"];

export function renderCall(app: Shell, room: RoomChoice, info: CallInfo, bus: CallBus): View {
  let disposed = false;
  let leaving = false;
  let members = info.members;
  let micMuted = info.micMuted;
  let cameraEnabled = info.cameraEnabled;
  let hasCamera = info.hasCamera ?? true;
  /** Our own tile's state as the call last said it (null before the first figures). */
  let ownReported: TileState | null = null;
  let encoding: Encoding = "i420";
  let spotlight: Spotlight = NO_SPOTLIGHT;
  /** The grid cell shown large, as the call was last told (null: two by two). */
  let spotlitCell: number | null = null;
  let full: number | null = null;
  let panel: "chat" | "people" | "diagnostics" | null = null;
  let unread = 0;
  let statsOn = false;
  let uplinkToldSlow = false;
  let statsTimer: number | undefined;
  const speaking = new Map<string, SpeakingDetector>();
  const selfSpeaking = new SpeakingDetector();
  const mutedTalk = new MutedTalkHint();
  const mutedGuess = new Map<string, MutedGuess>();

  // --- Grid
  const pinButtons: HTMLButtonElement[] = [];
  const fullButtons: HTMLButtonElement[] = [];
  const tiles: Tile[] = [0, 1, 2, 3].map((i) => new Tile(i, tileActions(i)));
  const grid = h("div", { class: "grid", testid: "grid" }, ...tiles.map((tile) => tile.el));

  function tileActions(index: number): HTMLElement {
    const pin = h("button", { class: "icon-button small", testid: "tile-pin", on: { click: () => togglePin(index) } }, icon(ICONS.pin));
    nameIcon(pin, "call.pin");
    const expand = h("button", { class: "icon-button small", testid: "tile-fullscreen", on: { click: () => toggleFull(index) } }, icon(ICONS.expand));
    nameIcon(expand, "call.fullscreen");
    const save = h("button", { class: "icon-button small", testid: "tile-snapshot", on: { click: () => void saveTile(index) } }, icon(ICONS.snapshot));
    nameIcon(save, "call.saveTile");
    pinButtons.push(pin);
    fullButtons.push(expand);
    return h("div", { class: "tile-actions" }, pin, expand, save);
  }

  function togglePin(index: number): void {
    const member = tiles[index].member;
    if (!member) return;
    spotlight = pinOrUnpin(spotlight, member.userId);
    showSpotlight();
  }

  /** Shows the spotlit member large (the others as a strip) and tells the call, for recordings. */
  function showSpotlight(): void {
    const cell = spotlightCell(spotlight, members);
    grid.classList.toggle("has-pin", cell !== null);
    tiles.forEach((tile, i) => tile.el.classList.toggle("pinned", i === cell));
    pinButtons.forEach((b, i) => nameIcon(b, i === cell ? "call.unpin" : "call.pin"));
    gridButton.hidden = cell === null;
    if (cell === spotlitCell) return;
    spotlitCell = cell;
    api.setLayout(cell).catch(() => undefined);
    resized.kick();
  }

  function toggleFull(index: number): void {
    full = full === index ? null : index;
    tiles.forEach((tile, i) => tile.el.classList.toggle("full", i === full));
    fullButtons.forEach((b, i) => nameIcon(b, i === full ? "call.exitFullscreen" : "call.fullscreen"));
  }

  async function saveTile(index: number): Promise<void> {
    try {
      const path = await api.snapshotTile(index === 0 ? null : index - 1);
      toast(t("call.snapshotSaved", { path }), "info", undefined, { action: openFolder(path) });
    } catch (e) {
      app.fail(e);
    }
  }

  function layout(): void {
    spotlight = followMembers(spotlight, members);
    const cells = gridCells(members);
    cells.forEach((member, i) => {
      const source = i === 0 ? "self" : `tile:${i - 1}`;
      tiles[i].setMember(member, member ? source : null, i === 0 ? "i420" : encoding);
    });
    showMicAndCamera();
    tiles[0].setMirrored(mirrorsSelfView(app.settings.camera));
    peopleCount.textContent = String(members.length);
    renderPeople(peopleList, members);
    showSpotlight();
    resized.kick();
  }

  // --- Header
  const roomIdText = h("code", { text: info.roomId, testid: "room-id" });
  const copy = tx(h("button", { class: "link", testid: "copy-invite" }), "call.copyInvite");
  const loopbackNote = h("div", { class: "note", testid: "loopback-only", attrs: { role: "status" } });
  loopbackNote.hidden = true;
  // Reopening the room server to the network restarts it, which would end this call for its
  // members; so the offer takes effect when the lobby starts hosting again.
  function showLoopbackOffer(): void {
    clear(loopbackNote);
    const open = tx(h("button", { class: "link", testid: "open-to-network" }), "call.openToNetwork");
    open.addEventListener("click", async () => {
      await app.update({ lan: true });
      clear(loopbackNote);
      loopbackNote.appendChild(tx(h("span"), "call.openedForNext"));
    });
    loopbackNote.append(tx(h("span"), "call.loopbackOnly"), " ", open);
    loopbackNote.hidden = false;
  }
  const copyLink = tx(h("button", { class: "link", testid: "copy-invite-link" }), "call.copyLink");
  copyLink.addEventListener("click", () => {
    const server = inviteServer(app);
    if (!server) return;
    if (loopbackOnly(app)) showLoopbackOffer();
    void navigator.clipboard?.writeText(buildInviteLink(server, info.roomId, room.target.roomKind)).then(() => {
      tx(copyLink, "call.copied");
      setTimeout(() => tx(copyLink, "call.copyLink"), 1500);
    });
  });
  copy.addEventListener("click", () => {
    const server = inviteServer(app);
    const text = server ? buildInvite(server, info.roomId, room.label, room.target.roomKind) : info.roomId;
    if (loopbackOnly(app)) showLoopbackOffer();
    void navigator.clipboard?.writeText(text).then(() => {
      tx(copy, "call.copied");
      setTimeout(() => tx(copy, "call.copyInvite"), 1500);
    });
  });
  const linkDot = h("span", { class: "link-dot", testid: "publisher-state" });
  const record = recordControl(app);
  const gridButton = h("button", { class: "button small", testid: "back-to-grid", attrs: { hidden: true } }, icon(ICONS.grid), tx(h("span"), "call.backToGrid"));
  gridButton.addEventListener("click", () => {
    spotlight = backToGrid(spotlight);
    showSpotlight();
  });
  const header = h(
    "div",
    { class: "call-head" },
    linkDot,
    h("span", { class: "call-title", text: room.label, testid: "room-title" }),
    h("span", { class: "muted" }, tx(h("span"), "call.roomId"), " ", roomIdText, " ", copy, " ", copyLink),
    loopbackNote,
    record.mark,
    gridButton,
  );

  // --- Controls
  const micButton = control(ICONS.mic, "call.mute", "toggle-mic", () => void toggleMic());
  // Our level after cleaning, so the meter shows what the others would hear (muted or not).
  const micMeterFill = h("div", { class: "meter-fill", testid: "call-mic-level" });
  const micMeter = h("div", { class: "meter mic-meter", attrs: { role: "meter", "aria-valuemin": 0, "aria-valuemax": 1, "aria-valuenow": 0 } }, micMeterFill);
  txAttr(micMeter, "aria-label", "call.micLevel");
  txAttr(micMeter, "title", "call.micLevel");
  let micMeterTimer = 0;
  function pollMicMeter(): void {
    api
      .micLevel()
      .then((level) => {
        micMeterFill.style.width = `${Math.round(Math.min(1, level / MIC_METER_FULL) * 100)}%`;
        micMeter.setAttribute("aria-valuenow", level.toFixed(3));
      })
      .catch(() => undefined)
      .finally(() => {
        if (!disposed) micMeterTimer = window.setTimeout(pollMicMeter, MIC_METER_POLL_MS);
      });
  }
  const camButton = control(ICONS.cam, "call.stopVideo", "toggle-camera", () => void toggleCamera());
  const devicesButton = control(ICONS.devices, "call.devices", "toggle-devices", () => toggleDevices());
  const chatBadge = h("span", { class: "badge", attrs: { hidden: true } });
  const chatButton = control(ICONS.chat, "call.chat", "toggle-chat", () => togglePanel("chat"), chatBadge);
  const peopleCount = h("span", { class: "count" });
  const peopleButton = control(ICONS.people, "call.members", "toggle-people", () => togglePanel("people"), peopleCount);
  const statsButton = control(ICONS.stats, "call.stats", "toggle-stats", () => toggleStats());
  const diagnosticsButton = control(ICONS.diagnostics, "call.diagnostics", "toggle-diagnostics", () => togglePanel("diagnostics"));
  const snapshotButton = control(ICONS.snapshot, "call.snapshot", "snapshot-grid", () => void snapshotGrid());
  const demoButton = control(ICONS.demo, "call.demo", "add-demo", () => void addDemo());
  txAttr(demoButton, "title", "call.demoHint");
  const leaveButton = control(ICONS.leave, "call.leave", "leave", () => void leaveAsChosen());
  leaveButton.classList.add("danger");
  // Toggles keep one name and say whether they are on: "Mute, pressed" is muted.
  txAttr(micButton, "aria-label", "call.mute");
  txAttr(camButton, "aria-label", "call.stopVideo");
  for (const b of [chatButton, peopleButton, statsButton, diagnosticsButton]) b.setAttribute("aria-pressed", "false");
  devicesButton.setAttribute("aria-expanded", "false");
  const controls = h(
    "div",
    { class: "controls" },
    h("div", { class: "control-group" }, micButton, micMeter, camButton, devicesButton),
    h("div", { class: "control-group" }, chatButton, peopleButton, statsButton, diagnosticsButton, snapshotButton, record.button, demoButton),
    h("div", { class: "control-group" }, leaveButton),
  );

  function control(paths: string, key: Key, testid: string, onClick: () => void, extra?: HTMLElement): HTMLButtonElement {
    const label = tx(h("span", { class: "control-label" }), key);
    const button = h("button", { class: "control", testid, on: { click: onClick } }, icon(paths), label, extra ?? null);
    return button;
  }

  function setControl(button: HTMLButtonElement, paths: string, key: Key, off: boolean): void {
    button.classList.toggle("off", off);
    button.setAttribute("aria-pressed", String(off));
    button.querySelector("svg")?.replaceWith(icon(paths));
    const label = button.querySelector<HTMLElement>(".control-label");
    if (label) tx(label, key);
  }

  function showMicAndCamera(): void {
    setControl(micButton, micMuted ? ICONS.micOff : ICONS.mic, micMuted ? "call.unmute" : "call.mute", micMuted);
    // Without a camera there is no video to stop: the control says so, like the others see it.
    const videoOn = cameraEnabled && hasCamera;
    setControl(camButton, videoOn ? ICONS.cam : ICONS.camOff, videoOn ? "call.stopVideo" : "call.startVideo", !videoOn);
    tiles[0].setMuted(micMuted);
    tiles[0].setState(videoOn ? (ownReported ?? "connecting") : "cameraOff");
  }

  /** Changes to the microphone, in order: each toggle acts on the state the one before left. */
  let micQueue: Promise<void> = Promise.resolve();
  function setMic(muted: boolean | "toggle"): Promise<void> {
    micQueue = micQueue.then(async () => {
      const want = muted === "toggle" ? !micMuted : muted;
      if (disposed || micMuted === want) return;
      try {
        await api.setMicMuted(want);
        micMuted = want;
        showMicAndCamera();
      } catch (e) {
        app.fail(e);
      }
    });
    return micQueue;
  }
  function toggleMic(): Promise<void> {
    return setMic("toggle");
  }

  async function toggleCamera(): Promise<void> {
    // Nothing to start without a camera: offer the choice of one instead.
    if (!hasCamera) {
      if (devicesPop.hidden) void toggleDevices();
      return;
    }
    try {
      await api.setCameraEnabled(!cameraEnabled);
      cameraEnabled = !cameraEnabled;
      ownReported = null;
      showMicAndCamera();
    } catch (e) {
      app.fail(e);
    }
  }

  // --- Devices popover (switch mid-call)
  const cameraSelect = h("select", { class: "input", testid: "call-camera-select" });
  const micSelect = h("select", { class: "input", testid: "call-microphone-select" });
  const speakerSelect = h("select", { class: "input", testid: "call-speaker-select" });
  const devicesPop = h(
    "div",
    { class: "popover", attrs: { hidden: true }, testid: "devices-popover" },
    h("label", { class: "field" }, tx(h("span"), "prejoin.camera"), cameraSelect),
    h("label", { class: "field" }, tx(h("span"), "prejoin.microphone"), micSelect),
    h("label", { class: "field" }, tx(h("span"), "prejoin.speaker"), speakerSelect),
  );

  async function toggleDevices(): Promise<void> {
    devicesPop.hidden = !devicesPop.hidden;
    devicesButton.classList.toggle("active", !devicesPop.hidden);
    devicesButton.setAttribute("aria-expanded", String(!devicesPop.hidden));
    if (devicesPop.hidden) return;
    fillDeviceLists(await api.listDevices().catch(() => ({ cameras: [], microphones: [], speakers: [] })));
  }

  function fillDeviceLists(d: Devices): void {
    const opt = (value: string, label: string) => h("option", { text: label, attrs: { value } });
    const optKey = (value: string, key: Key) => tx(h("option", { attrs: { value } }), key);
    cameraSelect.replaceChildren(
      ...d.cameras.map((c) => opt(`camera:${c.id}`, c.name)),
      optKey("synthetic", "prejoin.synthetic"),
      optKey("screen", "prejoin.screen"),
      optKey("none", "prejoin.noCamera"),
    );
    micSelect.replaceChildren(
      optKey("mic:", "prejoin.systemDefault"),
      ...d.microphones.filter((m) => !m.isDefault).map((m) => opt(`mic:${m.name}`, m.name)),
      optKey("tone", "prejoin.tone"),
      optKey("none", "prejoin.noMicrophone"),
    );
    speakerSelect.replaceChildren(
      optKey("", "prejoin.systemDefault"),
      ...d.speakers.filter((s) => !s.isDefault).map((s) => opt(s.name, s.name)),
    );
    cameraSelect.value = app.settings.camera;
    micSelect.value = app.settings.microphone;
    speakerSelect.value = app.settings.speaker;
  }

  /** Switches a device when its picker changes; remembers the choice, or puts the picker back. */
  function switchOnChange(select: HTMLSelectElement, setting: "camera" | "microphone" | "speaker", apply: (value: string) => Promise<void>): void {
    select.addEventListener("change", async () => {
      try {
        await apply(select.value);
        await app.update({ [setting]: select.value });
        if (setting === "camera") tiles[0].setMirrored(mirrorsSelfView(select.value));
      } catch (e) {
        if (!(e instanceof ShareCancelled)) toast(t("call.switchFailed", { message: errorText(e) }), "error", errorDetail(e));
        select.value = app.settings[setting];
      }
    });
  }
  switchOnChange(cameraSelect, "camera", async (v) => {
    // Nothing of the screen goes out before the person has seen it and chosen it.
    const camera = videoChoice(app.settings.camera);
    const options = { corner: camera.kind === "camera" ? camera : null, permissionNote: app.info.screenPrivacySettings };
    await api.switchCamera(app.settings.nickname, v === "screen" ? await chooseScreenShare(options) : videoChoice(v));
    hasCamera = v !== "none";
    ownReported = null;
    showMicAndCamera();
  });
  switchOnChange(micSelect, "microphone", (v) => api.switchMicrophone(audioChoice(v)));
  switchOnChange(speakerSelect, "speaker", (v) => api.switchSpeaker(v || null));

  // --- Side panel: chat and people
  const chat = renderChat(app, info.userId);
  const peopleList = h("div", { class: "people", testid: "people", attrs: { role: "list" } });
  const peoplePane = h("div", { class: "pane" }, peopleList);
  const diagnosticsPane = renderDiagnostics(app);
  const sidePanel = h("aside", { class: "side", attrs: { hidden: true } }, chat.element, peoplePane, diagnosticsPane.element);

  function togglePanel(which: "chat" | "people" | "diagnostics"): void {
    panel = panel === which ? null : which;
    sidePanel.hidden = panel === null;
    chat.element.hidden = panel !== "chat";
    peoplePane.hidden = panel !== "people";
    diagnosticsPane.element.hidden = panel !== "diagnostics";
    sidePanel.classList.toggle("wide", panel === "diagnostics");
    diagnosticsPane.show(panel === "diagnostics");
    for (const [button, which] of [[chatButton, "chat"], [peopleButton, "people"], [diagnosticsButton, "diagnostics"]] as const) {
      button.classList.toggle("active", panel === which);
      button.setAttribute("aria-pressed", String(panel === which));
    }
    if (panel === "chat") {
      unread = 0;
      chatBadge.hidden = true;
      chat.input.focus();
    }
  }

  function addMessage(userId: string, name: string, text: string, time: number): void {
    const mine = chat.add(userId, name, text, time);
    if (panel !== "chat" && !mine) {
      unread++;
      chatBadge.hidden = false;
      chatBadge.textContent = String(unread);
      toast(chatNotice(name, text), "info", undefined, { action: { key: "call.openChat", run: () => panel !== "chat" && togglePanel("chat") } });
    }
  }

  // --- Stats, speaking, camera-off of others
  function toggleStats(): void {
    statsOn = !statsOn;
    statsButton.classList.toggle("active", statsOn);
    statsButton.setAttribute("aria-pressed", String(statsOn));
    grid.classList.toggle("show-stats", statsOn);
  }

  function applyStats(s: Stats): void {
    const now = performance.now();
    const feeds = new Map((window as unknown as { __quartet: { feedStats: () => { feed: string; kibPerSecond: number; sendToDrawMsP50: number | null }[] } }).__quartet.feedStats().map((f) => [f.feed, f]));
    if (s.publisher) {
      const p = s.publisher;
      const rung = formatRung(p.width, p.height, p.targetKbps);
      tiles[0].statsLine.textContent = `${p.fps.toFixed(0)} fps · ${formatKbps(p.kbps)} · ${rung}${p.connected ? "" : " · …"}`;
      // Connected is not enough: a stalled uplink carries nothing either.
      linkDot.classList.toggle("up", p.connected && s.ownState !== "stalled" && s.ownState !== "reconnecting");
      const talking = selfSpeaking.update(p.micLevel, now);
      tiles[0].setSpeaking(talking && !micMuted);
      if (mutedTalk.update(micMuted, talking, now)) toast(t("call.talkingMuted"));
    }
    if ((s.ownState && s.ownState !== ownReported) || (s.hasCamera !== undefined && s.hasCamera !== hasCamera)) {
      ownReported = s.ownState ?? ownReported;
      hasCamera = s.hasCamera ?? hasCamera;
      showMicAndCamera();
    }
    for (const r of s.remotes) {
      const tile = tiles[r.tile + 1];
      if (!tile || tile.member?.userId !== r.userId) continue;
      const speak = speaking.get(r.userId) ?? new SpeakingDetector();
      speaking.set(r.userId, speak);
      const mute = mutedGuess.get(r.userId) ?? new MutedGuess();
      mutedGuess.set(r.userId, mute);
      if (r.state) tile.setState(r.state);
      else tile.setVideoOff(r.videoOff);
      tile.setSpeaking(speak.update(r.audioLevel, now));
      tile.setMuted(mute.update(r.audioLevel, now));
      tile.setQuality(r.state && !judgesQuality(r.state) ? null : r.quality);
      const feed = feeds.get(`tile-${r.tile}`);
      const parts = [`${r.fps.toFixed(0)} fps`, formatKbps(r.kbps)];
      if (r.latencyMsP50 !== null) parts.push(t("call.latency", { n: Math.round(r.latencyMsP50) }));
      if (r.stream === "small") parts.push(t("call.smallStream"));
      let page = "";
      if (feed) {
        page = `\nIPC ${feed.kibPerSecond.toFixed(0)} KiB/s`;
        if (feed.sendToDrawMsP50 !== null) page += ` · ${t("call.toScreen", { n: Math.round(feed.sendToDrawMsP50) })}`;
      }
      tile.statsLine.textContent = parts.join(" · ") + page;
    }
  }

  function pollStats(): void {
    api
      .stats()
      .then(applyStats)
      .catch(() => undefined)
      .finally(() => {
        if (!disposed) statsTimer = window.setTimeout(pollStats, STATS_POLL_MS);
      });
  }

  // --- Actions
  async function snapshotGrid(): Promise<void> {
    try {
      const path = await api.snapshotGrid();
      toast(t("call.snapshotSaved", { path }), "info", undefined, { action: openFolder(path) });
    } catch (e) {
      app.fail(e);
    }
  }

  async function addDemo(): Promise<void> {
    demoButton.disabled = true;
    try {
      const n = await api.demoAddMembers(DEMO_NAMES);
      toast(t("toast.demoAdded", { n }));
    } catch (e) {
      app.fail(e);
    } finally {
      demoButton.disabled = false;
    }
  }

  /** Leaves as the user chooses (a host is asked), then runs `then`; nothing if they stay. */
  async function leaveAsChosen(then?: () => void): Promise<void> {
    if (leaving) return;
    const mode = await chooseLeaveMode(app);
    if (mode === null) return;
    await leave(mode);
    then?.();
  }

  async function leave(mode: LeaveMode = "leave"): Promise<void> {
    if (leaving) return;
    leaving = true;
    leaveButton.disabled = true;
    tiles.forEach((tile) => tile.closeFeed());
    try {
      await api.callLeave(mode);
    } catch (e) {
      console.warn(errorDetail(e));
    }
    app.showLobby();
  }

  // --- Events
  function onEvent(e: CallEvent): void {
    if (disposed) return;
    switch (e.type) {
      case "joined":
        members = e.members;
        layout();
        break;
      case "memberJoined":
        members = upsertMember(members, e.member);
        layout();
        if (!e.member.isSelf) toast(t("toast.joined", { name: e.member.userName }));
        break;
      case "memberPromoted":
      case "memberUpdated": {
        const before = members.find((m) => m.userId === e.member.userId);
        members = upsertMember(members, e.member);
        layout();
        if (e.member.sharingScreen && !before?.sharingScreen && !e.member.isSelf) toast(t("toast.sharingStarted", { name: e.member.userName }));
        break;
      }
      case "memberLeft":
        members = removeMember(members, e.member.userId);
        speaking.delete(e.member.userId);
        mutedGuess.delete(e.member.userId);
        layout();
        toast(t("toast.left", { name: e.member.userName }));
        break;
      case "text":
        addMessage(e.userId, e.nickName, e.text, e.time);
        break;
      case "becameHost":
        toast(t("toast.becameHost"));
        break;
      case "roomClosed":
        toast(t("toast.roomClosed"), "info", undefined, { outlive: true });
        void leave();
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
        if (!uplinkToldSlow) toast(t("toast.uplinkSlow"));
        uplinkToldSlow = true;
        break;
      case "publisherState":
        linkDot.classList.toggle("up", e.state === "live");
        break;
    }
  }

  // Decoded pictures are made at the size they are shown (H.264 is decoded by the page at
  // whatever size was sent).
  const resized = new ResizeObserverShim(() => {
    if (encoding !== "i420") return;
    tiles.slice(1).forEach((tile, slot) => {
      if (!tile.member) return;
      const [w, h] = pictureSize(tile.el.clientWidth, tile.el.clientHeight, window.devicePixelRatio || 1);
      if (w > 0 && h > 0) api.tileResize(slot, w, h).catch(() => undefined);
    });
  });
  resized.observe(grid);

  function onKey(e: KeyboardEvent): void {
    if (e.key === "Escape" && full !== null) toggleFull(full);
  }
  document.addEventListener("keydown", onKey);
  const keys = bindCallKeys(
    {
      run: { mute: toggleMic, camera: toggleCamera, chat: () => togglePanel("chat"), leave: () => void leaveAsChosen() },
      micMuted: () => micMuted,
      setMic: (muted) => void setMic(muted),
    },
    { mute: micButton, camera: camButton, chat: chatButton, leave: leaveButton },
  );

  // Notices sit in a lane of their own, so none covers a face; they leave with the call.
  const notices = h("div", { class: "notices", testid: "notices", attrs: { "aria-live": "polite" } });
  dockNotices(notices);

  const element = h(
    "div",
    { class: "call", testid: "call" },
    h("div", { class: "stage" }, header, grid, notices, devicesPop, controls),
    sidePanel,
    keys.status,
  );

  void (async () => {
    const supported = await webCodecsSupported();
    const path = app.settings.videoPath;
    encoding = path !== "webgl" && supported ? "h264" : "i420";
    element.dataset.encoding = encoding;
    layout();
    showMicAndCamera();
    bus.listen(onEvent);
    pollStats();
    pollMicMeter();
  })();

  // Devices that come and go: the lists follow, and a device in use that went away is said.
  const unlistenDevices = api
    .onDevicesChanged((d) => {
      if (!disposed && !devicesPop.hidden) fillDeviceLists(d);
    })
    .catch(() => null);
  const unlistenFellBack = api
    .onDeviceFellBack((f) => {
      if (disposed) return;
      toast(t(`toast.lost.${f.kind}`, { name: f.lost }), "error");
      const fallback = { camera: { camera: "camera:" }, microphone: { microphone: "mic:" }, speaker: { speaker: "" } }[f.kind];
      void app.update(fallback).then(() => {
        cameraSelect.value = app.settings.camera;
        micSelect.value = app.settings.microphone;
        speakerSelect.value = app.settings.speaker;
      });
    })
    .catch(() => null);

  // The window's close button while we host others: the same question, then quit.
  const unlistenClose = api.onCloseRequested(() => void leaveAsChosen(() => void api.appQuit())).catch(() => null);

  return {
    element,
    dispose() {
      disposed = true;
      // Unlistening can fail once the app's event bridge is gone (the window closing): nothing
      // is left to listen to then.
      for (const unlisten of [unlistenClose, unlistenDevices, unlistenFellBack]) void unlisten.then((u) => u?.()).catch(() => undefined);
      bus.listen(null);
      undockNotices(notices);
      window.clearTimeout(statsTimer);
      window.clearTimeout(micMeterTimer);
      diagnosticsPane.dispose();
      document.removeEventListener("keydown", onKey);
      keys.dispose();
      resized.disconnect();
      tiles.forEach((tile) => tile.closeFeed());
    },
  };
}

/** A device's failure in the current language; its own English detail is shown only in English. */
export function deviceErrorText(device: string, message: string): string {
  const name = t(`device.${device}` as Key);
  return getLocale() === "en" ? t("toast.deviceError", { device: name, message }) : t("toast.deviceFailed", { device: name });
}
