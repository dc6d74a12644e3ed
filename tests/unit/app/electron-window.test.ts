import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BrowserWindowConstructorOptions } from 'electron';

// The Electron binary cannot run here: BrowserWindow, its webContents and session, and shell
// are recorded fakes, so what is checked is what the window asks Electron for.
interface OpenDetails {
  url: string;
}
type OpenHandler = (details: OpenDetails) => { action: 'deny' | 'allow' };
type PermissionHandler = (contents: unknown, permission: string, callback: (granted: boolean) => void) => void;
type HeadersHandler = (details: { responseHeaders: Record<string, string[]> }, callback: (r: { responseHeaders: Record<string, string[]> }) => void) => void;

const fake = vi.hoisted(() => {
  const state = {
    windows: [] as { options: unknown; contents: unknown; loaded: string[] }[],
    external: [] as string[],
  };
  return state;
});

vi.mock('electron', async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  class FakeSession {
    permissionHandler: PermissionHandler | undefined;
    checkHandler: ((contents: unknown, permission: string) => boolean) | undefined;
    headers: { filter: { urls: string[] }; fn: HeadersHandler } | undefined;
    setPermissionRequestHandler(fn: PermissionHandler) {
      this.permissionHandler = fn;
    }
    setPermissionCheckHandler(fn: (contents: unknown, permission: string) => boolean) {
      this.checkHandler = fn;
    }
    webRequest = {
      onHeadersReceived: (filter: { urls: string[] }, fn: HeadersHandler) => {
        this.headers = { filter, fn };
      },
    };
  }
  class FakeContents extends Emitter {
    openHandler: OpenHandler | undefined;
    downloads: string[] = [];
    session = new FakeSession();
    setWindowOpenHandler(fn: OpenHandler) {
      this.openHandler = fn;
    }
    downloadURL(url: string) {
      this.downloads.push(url);
    }
  }
  class BrowserWindow extends Emitter {
    webContents = new FakeContents();
    loaded: string[] = [];
    constructor(options: unknown) {
      super();
      fake.windows.push({ options, contents: this.webContents, loaded: this.loaded });
    }
    loadURL(url: string) {
      this.loaded.push(url);
      return Promise.resolve();
    }
    show() {}
  }
  return {
    BrowserWindow,
    shell: {
      openExternal: (url: string) => {
        fake.external.push(url);
        return Promise.resolve();
      },
    },
  };
});

const { createMainWindow, APP_CSP } = await import('../../../electron/main/electron/window.js');

interface RecordedContents extends EventEmitter {
  openHandler: OpenHandler;
  downloads: string[];
  session: {
    permissionHandler: PermissionHandler;
    checkHandler: (contents: unknown, permission: string) => boolean;
    headers: { filter: { urls: string[] }; fn: HeadersHandler };
  };
}

const URL_ = 'http://127.0.0.1:4567/?token=abc';
const PRELOAD = '/app/electron/dist/preload/preload.cjs';

function open(): { options: BrowserWindowConstructorOptions; contents: RecordedContents; loaded: string[] } {
  createMainWindow({ url: URL_, preloadPath: PRELOAD });
  const w = fake.windows.at(-1);
  if (w === undefined) throw new Error('no window was created');
  return { options: w.options as BrowserWindowConstructorOptions, contents: w.contents as RecordedContents, loaded: w.loaded };
}

/** Emits a navigation event the way Electron does and says whether it was prevented. */
function navigate(contents: RecordedContents, event: string, url: string): boolean {
  let prevented = false;
  contents.emit(event, { preventDefault: () => (prevented = true) }, url);
  return prevented;
}

describe('Electron main window', () => {
  beforeEach(() => {
    fake.windows.length = 0;
    fake.external.length = 0;
  });

  it('runs the renderer isolated and sandboxed with the preload, and loads the local page', () => {
    const { options, loaded } = open();
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      preload: PRELOAD,
    });
    expect(loaded).toEqual([URL_]);
  });

  it('refuses new windows: web links go to the OS browser, our downloads download', () => {
    const { contents } = open();
    expect(contents.openHandler({ url: 'https://docs.docker.com/' })).toEqual({ action: 'deny' });
    expect(contents.openHandler({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(contents.openHandler({ url: 'http://127.0.0.1:4567/download/d1?token=abc' })).toEqual({ action: 'deny' });
    expect(fake.external).toEqual(['https://docs.docker.com/']);
    expect(contents.downloads).toEqual(['http://127.0.0.1:4567/download/d1?token=abc']);
  });

  it('blocks navigation away from its origin and webviews', () => {
    const { contents } = open();
    expect(navigate(contents, 'will-navigate', 'http://127.0.0.1:4567/?token=abc#/images')).toBe(false);
    expect(navigate(contents, 'will-navigate', 'https://example.com/')).toBe(true);
    expect(navigate(contents, 'will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(navigate(contents, 'will-navigate', 'http://127.0.0.1:9999/')).toBe(true);
    expect(navigate(contents, 'will-redirect', 'https://example.com/')).toBe(true);
    // a published port's page is a web link too: it opens in the OS browser, not here
    expect(fake.external).toEqual(['https://example.com/', 'http://127.0.0.1:9999/']);
    let prevented = false;
    contents.emit('will-attach-webview', { preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
  });

  it('grants no web permission but clipboard writes, and sets the CSP on its origin', () => {
    const { contents } = open();
    const answers: Record<string, boolean> = {};
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-sanitized-write']) {
      contents.session.permissionHandler(contents, p, (granted) => (answers[p] = granted));
    }
    expect(answers).toEqual({ media: false, geolocation: false, notifications: false, openExternal: false, 'clipboard-sanitized-write': true });
    expect(contents.session.checkHandler(contents, 'media')).toBe(false);

    expect(contents.session.headers.filter.urls).toEqual(['http://127.0.0.1:4567/*']);
    let headers: Record<string, string[]> = {};
    contents.session.headers.fn({ responseHeaders: { 'Content-Type': ['text/html'] } }, (r) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']).toEqual([APP_CSP]);
    expect(APP_CSP).toContain("script-src 'self'");
    expect(APP_CSP).toContain("object-src 'none'");
  });
});
