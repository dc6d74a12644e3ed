import { BrowserWindow, shell, type WebContents } from 'electron';

/**
 * The app window. The renderer is the local server's page (the same files and CSP as browser
 * mode), but in Electron it gets `window.berth` from the preload, which runs sandboxed with
 * context isolation and no Node. The window never leaves that origin: new windows are refused
 * (http(s) links open in the OS browser, our download links download), navigation elsewhere
 * is blocked, and no web permission is granted beyond writing the clipboard (terminal copy).
 */
export interface MainWindowOptions {
  /** `http://127.0.0.1:PORT/?token=T`, the local server's page. */
  readonly url: string;
  /** electron/dist/preload/preload.cjs */
  readonly preloadPath: string;
}

/** Also sent by the local server; set here too so the window holds it whatever serves it. */
export const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write']);

export function createMainWindow(opts: MainWindowOptions): BrowserWindow {
  const origin = new URL(opts.url).origin;
  const win = new BrowserWindow({
    title: 'Berth',
    width: 1280,
    height: 800,
    minWidth: 900,
    minHeight: 600,
    show: false,
    webPreferences: {
      preload: opts.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  guardContents(win.webContents, origin);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(opts.url);
  return win;
}

/** The navigation, popup, permission and CSP rules of a window showing our origin. */
export function guardContents(contents: WebContents, origin: string): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isOurDownload(url, origin)) contents.downloadURL(url);
    else if (isWebLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event, url) => {
    if (sameOrigin(url, origin)) return;
    event.preventDefault();
    if (isWebLink(url)) void shell.openExternal(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!sameOrigin(url, origin)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());

  const { session } = contents;
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(ALLOWED_PERMISSIONS.has(permission)));
  session.setPermissionCheckHandler((_contents, permission) => ALLOWED_PERMISSIONS.has(permission));
  session.webRequest.onHeadersReceived({ urls: [`${origin}/*`] }, (details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } });
  });
}

function isWebLink(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

function isOurDownload(url: string, origin: string): boolean {
  return sameOrigin(url, origin) && new URL(url).pathname.startsWith('/download/');
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
