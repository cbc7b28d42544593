import "./styles.css";
import { api } from "./api";
import { App } from "./app";
import { resolveLocale, setLocale } from "./i18n";
import { SettingsStore } from "./settings";

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  const store = new SettingsStore();
  const [settings, info] = await Promise.all([store.load(), api.appInfo()]);
  setLocale(resolveLocale(settings.language, info.locale ?? navigator.language));
  const app = new App(root, store, info);
  app.showLobby();
  app.listenForInvites();
}

start().catch((e) => {
  document.body.textContent = `Quartet could not start: ${JSON.stringify(e)}`;
});
