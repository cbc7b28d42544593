import "./styles.css";
import { api } from "./api";
import { App } from "./app";
import { resolveLocale, setLocale } from "./i18n";
import { SettingsStore } from "./settings";

async function start(): Promise<void> {
  const root = document.getElementById("app");
  if (!root) throw new Error("index.html has no #app element");
  const store = new SettingsStore();
  const [settings, info] = await Promise.all([store.load(), api.appInfo()]);
  setLocale(resolveLocale(settings.language, info.locale ?? navigator.language));
  const app = new App(root, store, info);
  app.showLobby();
  app.listenForInvites();
}

// Before the settings are read the language is not known: the failure is said in both, with the
// detail (English, from the system) below for a bug report.
start().catch((e) => {
  const detail = document.createElement("pre");
  detail.textContent = typeof e === "string" ? e : JSON.stringify(e);
  const said = document.createElement("p");
  said.textContent = "Quartet could not start. Quartet 无法启动。";
  document.body.replaceChildren(said, detail);
});
