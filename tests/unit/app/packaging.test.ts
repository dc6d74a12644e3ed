import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../support/paths.js';

// build/electron-builder.json is checked against electron-builder's own configuration schema
// (app-builder-lib/scheme.json, the one it validates with), and what it packs must exist once
// `npm run build` has run (npm test's setup stage runs it).
interface TargetSpec {
  readonly target: string;
  readonly arch?: readonly string[];
}
interface BuilderConfig {
  readonly appId: string;
  readonly productName: string;
  readonly directories: { readonly app: string };
  readonly files: readonly string[];
  readonly extraResources: readonly { readonly from: string; readonly to: string }[];
  readonly asarUnpack: readonly string[];
  readonly mac: { readonly target: readonly TargetSpec[]; readonly hardenedRuntime: boolean; readonly category: string };
  readonly win: { readonly target: readonly TargetSpec[] };
  readonly linux: { readonly target: readonly string[]; readonly category: string };
}

const CONFIG_PATH = join(REPO_ROOT, 'build', 'electron-builder.json');
const raw: unknown = JSON.parse(readFileSync(CONFIG_PATH, 'utf8'));
const config = raw as BuilderConfig;

describe('packaging (electron-builder)', () => {
  it("is a valid electron-builder configuration by electron-builder's schema", () => {
    const schema: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true }).compile(schema as object);
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...config, notAnOption: true })).toBe(false);
  });

  it('names the app and builds dmg (x64 + arm64, hardened), nsis, AppImage and deb', () => {
    expect(config.productName).toBe('Berth');
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z]+)+$/);
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['x64', 'arm64'] }]);
    expect(config.mac.hardenedRuntime).toBe(true);
    expect(config.mac.category).toBe('public.app-category.developer-tools');
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis']);
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.linux.category).toBe('Development');
  });

  it('keeps native modules out of the asar and carries the renderer and the VM assets', () => {
    expect(config.asarUnpack).toContain('**/*.node');
    expect(config.extraResources).toContainEqual(expect.objectContaining({ from: 'renderer/dist', to: 'renderer' }));
    expect(config.extraResources).toContainEqual(expect.objectContaining({ from: 'vm-assets/out', to: 'vm' }));
  });

  it('packs files that `npm run build` made: the main entry, the preload and the renderer', () => {
    const appDir = join(REPO_ROOT, config.directories.app);
    const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string> };
    expect(config.files).toEqual(expect.arrayContaining(['dist/**/*', 'package.json']));
    for (const file of [pkg.main, 'dist/preload/preload.cjs', 'dist/main/electron/window.js', 'dist/main/electron/ipc-transport.js']) {
      expect(existsSync(join(appDir, file)), `${file} (run npm run build)`).toBe(true);
    }
    expect(pkg.main).toBe('dist/main/electron/main.js');
    // what the main process needs at run time is a production dependency of the app package
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['dockerode', 'ws']));
    expect(existsSync(join(REPO_ROOT, 'renderer', 'dist', 'index.html'))).toBe(true);
  });
});
