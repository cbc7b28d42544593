// Two languages, chosen from the system locale unless the user picks one in Settings.
// Elements made with `tx()` remember their key, so a language change re-translates the page
// in place without rebuilding it (a call's video keeps playing).

export type Locale = "en" | "zh-CN";
export type LanguageSetting = "auto" | Locale;

const en = {
  "app.name": "Quartet",
  "app.tagline": "Four-person video calls, hosted on your own computer",
  "lobby.title": "Start or join a call",
  "common.back": "Back",
  "common.close": "Close",
  "lobby.you": "You",
  "lobby.nickname": "Your name",
  "lobby.nicknamePlaceholder": "e.g. Ann",
  "lobby.server": "Room server",
  "lobby.modeHost": "Host here",
  "lobby.modeRemote": "Use a server",
  "lobby.lan": "Let others on my network join",
  "lobby.hostLocal": "Hosting on this computer: {url}",
  "lobby.hostShare": "Others on your network join with {url}",
  "lobby.hostStarting": "Starting the room server…",
  "lobby.serverUrl": "Server address",
  "lobby.serverUrlPlaceholder": "e.g. 192.168.1.20:8080",
  "lobby.connect": "Connect",
  "lobby.connected": "Connected to {url}",
  "lobby.rooms": "Rooms",
  "lobby.refresh": "Refresh",
  "lobby.noRooms": "No rooms yet. Create one to start a call.",
  "lobby.loadingRooms": "Loading rooms…",
  "lobby.membersCount": "{n} of {max}",
  "lobby.createdBy": "Host: {name}",
  "lobby.full": "Full",
  "lobby.join": "Join",
  "lobby.newRoom": "Start a new room",
  "lobby.roomName": "Room name",
  "lobby.roomNameDefault": "{name}'s room",
  "lobby.create": "Create room",
  "lobby.joinById": "Have a room ID?",
  "lobby.roomIdPlaceholder": "room_…",
  "lobby.needName": "Enter your name first.",
  "prejoin.title": "Ready to join?",
  "prejoin.creating": "You are creating “{room}”",
  "prejoin.joining": "You are joining “{room}”",
  "prejoin.camera": "Camera",
  "prejoin.microphone": "Microphone",
  "prejoin.speaker": "Speaker",
  "prejoin.synthetic": "Test pattern",
  "prejoin.tone": "Test tone",
  "prejoin.noCamera": "No camera",
  "prejoin.noMicrophone": "No microphone",
  "prejoin.systemDefault": "System default",
  "prejoin.noCameraFound": "No camera found.",
  "prejoin.noMicrophoneFound": "No microphone found.",
  "prejoin.useSynthetic": "Use the test pattern",
  "prejoin.useTone": "Use a test tone",
  "prejoin.deviceProblem": "{device} cannot be used: {message}",
  "prejoin.cameraDenied": "Quartet is not allowed to use the camera. Turn on camera access for Quartet in your system's privacy settings, then try again.",
  "prejoin.openCameraSettings": "Open camera privacy settings",
  "prejoin.tryAgain": "Try again",
  "prejoin.joinMuted": "Join muted",
  "prejoin.cameraOff": "Join with camera off",
  "prejoin.join": "Join now",
  "prejoin.level": "Microphone level",
  "prejoin.previewOff": "Your camera is off",
  "prejoin.starting": "Joining…",
  "call.room": "Room",
  "call.roomId": "Room ID",
  "call.copy": "Copy",
  "call.copied": "Copied",
  "call.you": "{name} (you)",
  "call.connecting": "Connecting…",
  "call.reconnecting": "Reconnecting…",
  "call.cameraOff": "Camera off",
  "call.emptyTile": "Waiting for someone to join",
  "call.mute": "Mute",
  "call.unmute": "Unmute",
  "call.stopVideo": "Stop video",
  "call.startVideo": "Start video",
  "call.devices": "Devices",
  "call.chat": "Chat",
  "call.members": "People",
  "call.stats": "Stats",
  "call.snapshot": "Snapshot",
  "call.demo": "Demo",
  "call.demoHint": "Add three demo members with test patterns",
  "call.leave": "Leave",
  "call.chatPlaceholder": "Message everyone",
  "call.send": "Send",
  "call.noMessages": "Messages sent here are seen by everyone in the room.",
  "call.listed": "Waiting for a free tile",
  "call.host": "Host",
  "call.pin": "Pin",
  "call.unpin": "Unpin",
  "call.fullscreen": "Full screen",
  "call.exitFullscreen": "Exit full screen",
  "call.saveTile": "Save picture",
  "call.snapshotSaved": "Snapshot saved to {path}",
  "call.switchFailed": "Could not switch: {message}",
  "call.talkingMuted": "You are muted. Unmute to be heard.",
  "call.latency": "latency {n} ms",
  "call.smallStream": "small stream",
  "call.quality.good": "Good connection",
  "call.quality.poor": "Poor connection",
  "call.quality.bad": "Bad connection",
  "call.toScreen": "to screen {n} ms",
  "call.muted": "Muted",
  "toast.joined": "{name} joined",
  "toast.left": "{name} left",
  "toast.roomClosed": "The room was closed.",
  "toast.demoAdded": "{n} demo members joined",
  "toast.deviceError": "{device}: {message}",
  "toast.deviceFailed": "{device} cannot be used.",
  "toast.uplinkSlow": "Your connection is slow: sending lower quality",
  "toast.roomLost": "Lost the room server, reconnecting…",
  "toast.roomBack": "Back in the room",
  "device.camera": "Camera",
  "device.microphone": "Microphone",
  "device.speaker": "Speaker",
  "settings.title": "Settings",
  "settings.language": "Language",
  "settings.languageAuto": "Follow the system",
  "settings.video": "Video decoding",
  "settings.videoAuto": "Automatic",
  "settings.videoWebcodecs": "In the page (WebCodecs)",
  "settings.videoWebgl": "In the app (WebGL)",
  "settings.dataSaver": "Data saver: play the others' small streams only",
  "settings.sound": "Microphone",
  "settings.echoCancellation": "Echo cancellation: the others don't hear themselves from your speaker",
  "settings.noiseSuppression": "Noise suppression: fans, keyboards and chatter are removed",
  "settings.gainControl": "Automatic gain: your voice at an even level",
  "call.micLevel": "Microphone level",
  "settings.logs": "Logs",
  "settings.openLogs": "Open logs folder",
  "settings.version": "Quartet {version}",
  "settings.done": "Done",
  "error.invalidInput": "Please check what you entered.",
  "error.unreachable": "Cannot reach the room server. Check the address and your network.",
  "error.roomNotFound": "This room no longer exists.",
  "error.roomFull": "This room is full.",
  "error.authFailed": "The room server did not let us in.",
  "error.server": "The room server reported a problem.",
  "error.hostFailed": "Could not host a call on this computer.",
  "error.noCall": "There is no call going on.",
  "error.alreadyInCall": "You are already in a call.",
  "error.cameraDenied": "The system does not allow Quartet to use the camera.",
  "error.device": "A device could not be used.",
  "error.media": "Audio or video could not start.",
  "error.io": "A file could not be saved.",
  "error.unknown": "Something went wrong.",
  "prejoin.testSpeaker": "Test speaker",
  "prejoin.testingSpeaker": "Playing…",
  "prejoin.noSpeakerFound": "No speaker found: you will not hear the others.",
  "prejoin.speakerNotFound": "This speaker is no longer connected: you will not hear the others.",
  "prejoin.speakerFailed": "The speaker cannot play sound: you will not hear the others.",
};

export type Key = keyof typeof en;

const zhCN: Record<Key, string> = {
  "app.name": "Quartet",
  "app.tagline": "在自己的电脑上主持四人视频通话",
  "lobby.title": "发起或加入通话",
  "common.back": "返回",
  "common.close": "关闭",
  "lobby.you": "我的信息",
  "lobby.nickname": "昵称",
  "lobby.nicknamePlaceholder": "例如：小明",
  "lobby.server": "房间服务器",
  "lobby.modeHost": "本机主持",
  "lobby.modeRemote": "连接服务器",
  "lobby.lan": "允许局域网内的其他人加入",
  "lobby.hostLocal": "正在本机主持：{url}",
  "lobby.hostShare": "局域网内的其他人可通过 {url} 加入",
  "lobby.hostStarting": "正在启动房间服务器…",
  "lobby.serverUrl": "服务器地址",
  "lobby.serverUrlPlaceholder": "例如：192.168.1.20:8080",
  "lobby.connect": "连接",
  "lobby.connected": "已连接到 {url}",
  "lobby.rooms": "房间列表",
  "lobby.refresh": "刷新",
  "lobby.noRooms": "还没有房间，创建一个开始通话吧。",
  "lobby.loadingRooms": "正在加载房间…",
  "lobby.membersCount": "{n}/{max} 人",
  "lobby.createdBy": "房主：{name}",
  "lobby.full": "已满",
  "lobby.join": "加入",
  "lobby.newRoom": "新建房间",
  "lobby.roomName": "房间名称",
  "lobby.roomNameDefault": "{name}的房间",
  "lobby.create": "创建房间",
  "lobby.joinById": "已有房间号？",
  "lobby.roomIdPlaceholder": "room_…",
  "lobby.needName": "请先填写昵称。",
  "prejoin.title": "准备好加入了吗？",
  "prejoin.creating": "你将创建“{room}”",
  "prejoin.joining": "你将加入“{room}”",
  "prejoin.camera": "摄像头",
  "prejoin.microphone": "麦克风",
  "prejoin.speaker": "扬声器",
  "prejoin.synthetic": "测试画面",
  "prejoin.tone": "测试音",
  "prejoin.noCamera": "不使用摄像头",
  "prejoin.noMicrophone": "不使用麦克风",
  "prejoin.systemDefault": "系统默认",
  "prejoin.noCameraFound": "未检测到摄像头。",
  "prejoin.noMicrophoneFound": "未检测到麦克风。",
  "prejoin.useSynthetic": "使用测试画面",
  "prejoin.useTone": "使用测试音",
  "prejoin.deviceProblem": "{device}无法使用：{message}",
  "prejoin.cameraDenied": "Quartet 没有使用摄像头的权限。请在系统的隐私设置中允许 Quartet 访问摄像头，然后重试。",
  "prejoin.openCameraSettings": "打开摄像头隐私设置",
  "prejoin.tryAgain": "重试",
  "prejoin.joinMuted": "加入时静音",
  "prejoin.cameraOff": "加入时关闭摄像头",
  "prejoin.join": "立即加入",
  "prejoin.level": "麦克风音量",
  "prejoin.previewOff": "摄像头未开启",
  "prejoin.starting": "正在加入…",
  "call.room": "房间",
  "call.roomId": "房间号",
  "call.copy": "复制",
  "call.copied": "已复制",
  "call.you": "{name}（我）",
  "call.connecting": "正在连接…",
  "call.reconnecting": "正在重新连接…",
  "call.cameraOff": "摄像头已关闭",
  "call.emptyTile": "等待其他人加入",
  "call.mute": "静音",
  "call.unmute": "取消静音",
  "call.stopVideo": "关闭视频",
  "call.startVideo": "开启视频",
  "call.devices": "设备",
  "call.chat": "聊天",
  "call.members": "成员",
  "call.stats": "统计",
  "call.snapshot": "截图",
  "call.demo": "演示",
  "call.demoHint": "添加三位使用测试画面的演示成员",
  "call.leave": "离开",
  "call.chatPlaceholder": "发消息给所有人",
  "call.send": "发送",
  "call.noMessages": "在这里发送的消息，房间里的所有人都能看到。",
  "call.listed": "等待空出的画面位置",
  "call.host": "房主",
  "call.pin": "固定",
  "call.unpin": "取消固定",
  "call.fullscreen": "全屏",
  "call.exitFullscreen": "退出全屏",
  "call.saveTile": "保存画面",
  "call.snapshotSaved": "截图已保存到 {path}",
  "call.switchFailed": "无法切换：{message}",
  "call.talkingMuted": "你已静音，取消静音后其他人才能听到你。",
  "call.latency": "延迟 {n} 毫秒",
  "call.smallStream": "小画面",
  "call.quality.good": "网络良好",
  "call.quality.poor": "网络较差",
  "call.quality.bad": "网络很差",
  "call.toScreen": "上屏 {n} 毫秒",
  "call.muted": "已静音",
  "toast.joined": "{name} 加入了通话",
  "toast.left": "{name} 离开了通话",
  "toast.roomClosed": "房间已关闭。",
  "toast.demoAdded": "已加入 {n} 位演示成员",
  "toast.deviceError": "{device}：{message}",
  "toast.deviceFailed": "{device}无法使用。",
  "toast.uplinkSlow": "你的网络较慢：正在以较低画质发送",
  "toast.roomLost": "与房间服务器的连接中断，正在重连…",
  "toast.roomBack": "已重新回到房间",
  "device.camera": "摄像头",
  "device.microphone": "麦克风",
  "device.speaker": "扬声器",
  "settings.title": "设置",
  "settings.language": "语言",
  "settings.languageAuto": "跟随系统",
  "settings.video": "视频解码",
  "settings.videoAuto": "自动",
  "settings.videoWebcodecs": "在页面中解码（WebCodecs）",
  "settings.videoWebgl": "在应用中解码（WebGL）",
  "settings.dataSaver": "省流量：只播放其他人的小画面",
  "settings.sound": "麦克风",
  "settings.echoCancellation": "回声消除：其他人不会从你的扬声器里听到自己",
  "settings.noiseSuppression": "降噪：去除风扇、键盘和周围的说话声",
  "settings.gainControl": "自动增益：让你的声音保持稳定音量",
  "call.micLevel": "麦克风音量",
  "settings.logs": "日志",
  "settings.openLogs": "打开日志文件夹",
  "settings.version": "Quartet {version}",
  "settings.done": "完成",
  "error.invalidInput": "请检查填写的内容。",
  "error.unreachable": "无法连接房间服务器，请检查地址和网络。",
  "error.roomNotFound": "该房间已不存在。",
  "error.roomFull": "该房间已满。",
  "error.authFailed": "房间服务器拒绝了加入请求。",
  "error.server": "房间服务器出现问题。",
  "error.hostFailed": "无法在本机主持通话。",
  "error.noCall": "当前没有进行中的通话。",
  "error.alreadyInCall": "你已经在通话中。",
  "error.cameraDenied": "系统不允许 Quartet 使用摄像头。",
  "error.device": "设备无法使用。",
  "error.media": "音视频无法启动。",
  "error.io": "文件无法保存。",
  "error.unknown": "出了点问题。",
  "prejoin.testSpeaker": "测试扬声器",
  "prejoin.testingSpeaker": "正在播放…",
  "prejoin.noSpeakerFound": "未检测到扬声器：你将听不到其他人的声音。",
  "prejoin.speakerNotFound": "该扬声器已断开连接：你将听不到其他人的声音。",
  "prejoin.speakerFailed": "扬声器无法播放声音：你将听不到其他人的声音。",
};

const dictionaries: Record<Locale, Record<Key, string>> = { en, "zh-CN": zhCN };

let current: Locale = "en";

/** The language to show: the override, else the system's when it is Chinese, else English. */
export function resolveLocale(setting: LanguageSetting | string | undefined, system: string | null | undefined): Locale {
  if (setting === "en" || setting === "zh-CN") return setting;
  const sys = (system ?? "").replace("_", "-").toLowerCase();
  return sys === "zh" || sys.startsWith("zh-") ? "zh-CN" : "en";
}

export function setLocale(locale: Locale): void {
  current = locale;
  if (typeof document !== "undefined") document.documentElement.lang = locale;
}

export function getLocale(): Locale {
  return current;
}

export type Vars = Record<string, string | number>;

/** The text of `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, vars: Vars = {}): string {
  const template = dictionaries[current][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

export function isKey(key: string): key is Key {
  return key in en;
}

/** Sets `el`'s text to `key` and remembers it for re-translation. */
export function tx<E extends HTMLElement>(el: E, key: Key, vars: Vars = {}): E {
  el.dataset.i18n = key;
  el.dataset.i18nVars = JSON.stringify(vars);
  el.textContent = t(key, vars);
  return el;
}

/** Sets an attribute (placeholder, title, aria-label) to `key` and remembers it. */
export function txAttr<E extends HTMLElement>(el: E, attr: "placeholder" | "title" | "aria-label", key: Key, vars: Vars = {}): E {
  el.dataset[`i18n${attr === "aria-label" ? "Aria" : attr[0].toUpperCase() + attr.slice(1)}`] = key;
  el.dataset.i18nVars = JSON.stringify(vars);
  el.setAttribute(attr, t(key, vars));
  return el;
}

/** Re-translates every remembered text under `root`. */
export function retranslate(root: ParentNode): void {
  root.querySelectorAll<HTMLElement>("[data-i18n],[data-i18n-placeholder],[data-i18n-title],[data-i18n-aria]").forEach((el) => {
    const vars = JSON.parse(el.dataset.i18nVars ?? "{}") as Vars;
    const text = el.dataset.i18n;
    if (text && isKey(text)) el.textContent = t(text, vars);
    for (const [data, attr] of [
      ["i18nPlaceholder", "placeholder"],
      ["i18nTitle", "title"],
      ["i18nAria", "aria-label"],
    ] as const) {
      const k = el.dataset[data];
      if (k && isKey(k)) el.setAttribute(attr, t(k, vars));
    }
  });
}

export const dictionariesForTest = dictionaries;
