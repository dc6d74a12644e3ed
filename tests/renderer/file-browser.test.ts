import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FileEntry, InvokeArgs } from '../../electron/shared/bridge.js';
import { setBridge } from '../../renderer/src/bridge/index.js';
import FileBrowser from '../../renderer/src/components/FileBrowser.vue';
import { FakeBridge } from './fake-bridge.js';

const entry = (name: string, type: FileEntry['type'], extra: Partial<FileEntry> = {}): FileEntry => ({
  name,
  type,
  size: type === 'file' ? 12 : 0,
  mode: type === 'directory' ? 0o755 : 0o644,
  uid: 1000,
  gid: 100,
  mtime: '2026-12-01T10:00:00.000Z',
  ...extra,
});

const TREE: Record<string, FileEntry[]> = {
  '/': [entry('notes.txt', 'file'), entry('logs', 'directory'), entry('current', 'symlink', { linkTarget: 'logs/app.log', mode: 0o777 })],
  '/logs': [entry('app.log', 'file', { size: 5 })],
  '/latest': [entry('app.log', 'file', { size: 5 })],
};

let fake: FakeBridge;

function mountBrowser(readOnly = false): VueWrapper {
  return mount(FileBrowser, { props: { root: { kind: 'volume', name: 'data' }, readOnly }, attachTo: document.body });
}

function button(w: VueWrapper, name: string) {
  const found = w.findAll('button').find((b) => b.attributes('aria-label') === name || b.text() === name);
  if (found === undefined) throw new Error(`no button ${name}`);
  return found;
}

function dialogNamed(label: string): HTMLDialogElement {
  const d = [...document.querySelectorAll('dialog')].find((e) => e.getAttribute('aria-label') === label);
  if (d === undefined) throw new Error(`no dialog ${label}`);
  return d;
}

beforeEach(() => {
  document.body.innerHTML = '';
  setActivePinia(createPinia());
  fake = new FakeBridge()
    .respond('files:list', ({ path }) => {
      const entries = TREE[path];
      if (entries === undefined) throw new Error(`no ${path}`);
      return { path, entries };
    })
    .respond('files:read', () => ({ bytes: new TextEncoder().encode('hello, world'), size: 12, truncated: false }))
    .respond('files:delete', () => undefined)
    .respond('files:mkdir', ({ path }) => entry(path.slice(1), 'directory'))
    .respond('files:rename', () => undefined);
  setBridge(fake);
});

describe('FileBrowser', () => {
  it('lists the entries with type, size, mode as rwx, owner and link target', async () => {
    const w = mountBrowser();
    await flushPromises();
    expect(fake.callsTo('files:list')).toEqual([{ root: { kind: 'volume', name: 'data' }, path: '/' }]);
    const table = w.find('table[aria-label="Files"]');
    const rows = table.findAll('tbody tr');
    // Folders first, then by name.
    expect(rows.map((r) => r.find('td button').text())).toEqual(['logs/', 'current', 'notes.txt']);
    expect(rows[0]?.text()).toContain('drwxr-xr-x');
    expect(rows[2]?.text()).toContain('-rw-r--r--');
    expect(rows[2]?.text()).toContain('1000:100');
    expect(rows[1]?.text()).toContain('lrwxrwxrwx');
    expect(rows[1]?.text()).toContain('→ logs/app.log');
    w.unmount();
  });

  it('opens a folder with the joined path, and goes back with the path bar', async () => {
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'logs/').trigger('click');
    await flushPromises();
    expect(fake.callsTo('files:list').at(-1)).toEqual({ root: { kind: 'volume', name: 'data' }, path: '/logs' });
    expect(w.find('table[aria-label="Files"]').text()).toContain('app.log');
    const crumbs = w.find('nav[aria-label="Path"]');
    expect(crumbs.text()).toContain('logs');
    await crumbs.findAll('button')[0]?.trigger('click');
    await flushPromises();
    expect(fake.callsTo('files:list').at(-1)).toEqual({ root: { kind: 'volume', name: 'data' }, path: '/' });
    w.unmount();
  });

  it('opens a link to a folder as the folder, and previews a link to a file', async () => {
    TREE['/']?.push(entry('latest', 'symlink', { linkTarget: 'logs' }));
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'current').trigger('click');
    await flushPromises();
    expect(w.find('section[aria-label="Preview"]').exists()).toBe(true);
    expect(fake.callsTo('files:read').at(-1)).toMatchObject({ path: '/current' });
    await button(w, 'latest').trigger('click');
    await flushPromises();
    expect(fake.callsTo('files:list').at(-1)).toMatchObject({ path: '/latest' });
    expect(w.find('table[aria-label="Files"]').text()).toContain('app.log');
    expect(w.find('section[aria-label="Preview"]').exists()).toBe(false);
    TREE['/']?.pop();
    w.unmount();
  });

  it('refuses a file too large for one bridge message, with a message', async () => {
    const w = mountBrowser();
    await flushPromises();
    const input = w.find('input[type="file"]');
    const huge = new File(['x'], 'huge.iso');
    Object.defineProperty(huge, 'size', { value: 300 * 1024 * 1024 });
    Object.defineProperty(input.element, 'files', { value: [huge], configurable: true });
    await input.trigger('change');
    await flushPromises();
    expect(fake.callsTo('files:upload')).toEqual([]);
    const { useNotices } = await import('../../renderer/src/stores/notices.js');
    expect(useNotices().items.at(-1)?.message).toMatch(/huge\.iso is 314.6 MB; .*docker cp/);
    w.unmount();
  });

  it('shows the folder asked for last, even when an earlier listing answers later', async () => {
    let release: () => void = () => undefined;
    const w = mountBrowser();
    await flushPromises();
    fake.respond('files:list', ({ path }) =>
      path === '/logs'
        ? new Promise((resolve) => (release = () => resolve({ path, entries: TREE['/logs'] ?? [] })))
        : { path, entries: [entry('only-in-latest', 'file')] },
    );
    await button(w, 'logs/').trigger('click');
    await w.find('nav[aria-label="Path"] button').trigger('click');
    await flushPromises();
    release();
    await flushPromises();
    const names = w.find('table[aria-label="Files"]').text();
    expect(names).toContain('only-in-latest');
    expect(names).not.toContain('app.log');
    w.unmount();
  });

  it('previews a text file from the bytes files:read answers', async () => {
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'notes.txt').trigger('click');
    await flushPromises();
    expect(fake.callsTo('files:read')).toEqual([{ root: { kind: 'volume', name: 'data' }, path: '/notes.txt', maxBytes: 1024 * 1024 }]);
    const preview = w.find('section[aria-label="Preview"]');
    expect(preview.find('pre').text()).toBe('hello, world');
    expect(preview.text()).not.toContain('truncated');
    w.unmount();
  });

  it('says "binary file" for bytes that are not text, and notes truncation', async () => {
    fake.respond('files:read', () => ({ bytes: new Uint8Array([0, 159, 146, 150]), size: 5_000_000, truncated: true }));
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'notes.txt').trigger('click');
    await flushPromises();
    const preview = w.find('section[aria-label="Preview"]');
    expect(preview.text()).toContain('binary file');
    expect(preview.text()).toContain('truncated');
    w.unmount();
  });

  it('asks before deleting, and deletes only after the confirm', async () => {
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'Delete notes.txt').trigger('click');
    await flushPromises();
    const confirm = dialogNamed('Delete notes.txt?');
    expect(confirm.open).toBe(true);
    expect(fake.callsTo('files:delete')).toEqual([]);
    const yes = [...confirm.querySelectorAll('button')].find((b) => b.textContent === 'Delete');
    yes?.click();
    await flushPromises();
    expect(fake.callsTo('files:delete')).toEqual([{ root: { kind: 'volume', name: 'data' }, path: '/notes.txt' }]);
    w.unmount();
  });

  it('validates a new folder name before it sends, then creates it in the open folder', async () => {
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'New folder').trigger('click');
    await flushPromises();
    const d = dialogNamed('New folder');
    const input = w.find('dialog[aria-label="New folder"] input');
    await input.setValue('a/b');
    await w.find('dialog[aria-label="New folder"] form').trigger('submit');
    expect(d.querySelector('[role="alert"]')?.textContent).toContain('cannot contain "/"');
    expect(fake.callsTo('files:mkdir')).toEqual([]);
    await input.setValue('reports');
    await w.find('dialog[aria-label="New folder"] form').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('files:mkdir')).toEqual([{ root: { kind: 'volume', name: 'data' }, path: '/reports' }]);
    w.unmount();
  });

  it('renames through a dialog', async () => {
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'Rename notes.txt').trigger('click');
    await flushPromises();
    const input = w.find('dialog[aria-label="Rename notes.txt"] input');
    expect((input.element as HTMLInputElement).value).toBe('notes.txt');
    await input.setValue('old-notes.txt');
    await w.find('dialog[aria-label="Rename notes.txt"] form').trigger('submit');
    await flushPromises();
    expect(fake.callsTo('files:rename')).toEqual([{ root: { kind: 'volume', name: 'data' }, from: '/notes.txt', to: '/old-notes.txt' }]);
    w.unmount();
  });

  it('uploads the picked file, asking before it replaces one with the same name', async () => {
    const uploads: InvokeArgs<'files:upload'>[] = [];
    fake.respond('files:upload', (args) => {
      uploads.push(args);
      return entry(args.file.name, 'file');
    });
    const w = mountBrowser();
    await flushPromises();
    const input = w.find('input[type="file"][aria-label="Upload file"]');
    const pick = async (file: File) => {
      Object.defineProperty(input.element, 'files', { value: [file], configurable: true });
      await input.trigger('change');
      await flushPromises();
    };
    await pick(new File(['fresh'], 'new.txt'));
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ directory: '/', overwrite: false, file: { name: 'new.txt' } });
    expect(new TextDecoder().decode(uploads[0]?.file.bytes)).toBe('fresh');

    await pick(new File(['again'], 'notes.txt'));
    expect(uploads).toHaveLength(1);
    expect(dialogNamed('Replace notes.txt?').open).toBe(true);
    [...dialogNamed('Replace notes.txt?').querySelectorAll('button')].find((b) => b.textContent === 'Replace')?.click();
    await flushPromises();
    expect(uploads[1]).toMatchObject({ overwrite: true, file: { name: 'notes.txt' } });
    w.unmount();
  });

  it('downloads through an anchor to the URL files:downloadUrl answers', async () => {
    fake.respond('files:downloadUrl', ({ path }) => ({ url: `http://127.0.0.1:9/download/abc?token=t&p=${encodeURIComponent(path)}` }));
    const clicked: { href: string; download: string }[] = [];
    const original = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download });
    };
    try {
      const w = mountBrowser();
      await flushPromises();
      await button(w, 'Download logs').trigger('click');
      await flushPromises();
      expect(fake.callsTo('files:downloadUrl')).toEqual([{ root: { kind: 'volume', name: 'data' }, path: '/logs' }]);
      expect(clicked).toEqual([{ href: 'http://127.0.0.1:9/download/abc?token=t&p=%2Flogs', download: '' }]);
      w.unmount();
    } finally {
      HTMLAnchorElement.prototype.click = original;
    }
  });

  it('previews an image through an object URL of its bytes', async () => {
    TREE['/']?.push(entry('logo.png', 'file'));
    fake.respond('files:read', () => ({ bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), size: 4, truncated: false }));
    const w = mountBrowser();
    await flushPromises();
    await button(w, 'logo.png').trigger('click');
    await flushPromises();
    const img = w.find('section[aria-label="Preview"] img');
    expect(img.attributes('alt')).toBe('logo.png');
    expect(img.attributes('src')).toMatch(/^blob:/);
    expect(fake.callsTo('files:read').at(-1)).toMatchObject({ path: '/logo.png', maxBytes: 4 * 1024 * 1024 });
    TREE['/']?.pop();
    w.unmount();
  });

  it('shows an error from the engine as a message', async () => {
    fake.fail('files:list', 'no such volume: data', 404);
    const w = mountBrowser();
    await flushPromises();
    expect(w.find('[role="alert"]').text()).toBe('no such volume: data');
    w.unmount();
  });

  it('read-only: no upload, new folder, rename or delete; download and preview stay', async () => {
    const w = mountBrowser(true);
    await flushPromises();
    expect(w.find('input[type="file"]').exists()).toBe(false);
    const labels = w.findAll('button').map((b) => b.attributes('aria-label') ?? b.text());
    expect(labels).not.toContain('New folder');
    expect(labels.some((l) => l.startsWith('Rename ') || l.startsWith('Delete '))).toBe(false);
    expect(labels).toContain('Download notes.txt');
    await button(w, 'notes.txt').trigger('click');
    await flushPromises();
    expect(w.find('section[aria-label="Preview"]').exists()).toBe(true);
    w.unmount();
  });
});
