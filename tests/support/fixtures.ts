import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon } from './daemon.js';
import { REPO_ROOT } from './paths.js';

/**
 * The test image, berth.test/busybox:latest, built from Debian's busybox-static by
 * `npm run test-image` (scripts/build-test-image.sh) into tests/fixtures/images/.
 * Its rootfs: /bin/busybox + applet links (/bin/sh ...), users root (0), berth (1000) and
 * nobody (65534), /etc/hostname empty, /tmp 1777; its config: Cmd ["sh"], Env PATH.
 */
export const TEST_IMAGE = 'berth.test/busybox:latest';
export const TEST_IMAGE_REPO = 'berth.test/busybox';
export const FIXTURES_DIR = join(REPO_ROOT, 'tests', 'fixtures', 'images');

const FILES = {
  /** The root filesystem as a directory. */
  rootfsDir: 'busybox-rootfs',
  /** The rootfs as a deterministic tar (input for `docker import`; the image's one layer). */
  rootfsTar: 'busybox-rootfs.tar',
  /** An OCI image layout, as a directory and as a tar. */
  ociDir: 'busybox-oci',
  ociTar: 'busybox-oci.tar',
  /** Made by a real `docker save` from Debian's dockerd (absent when dockerd was). */
  dockerSaveTar: 'busybox-docker-save.tar',
} as const;

export type FixtureName = keyof typeof FILES;

export function hasFixture(name: FixtureName): boolean {
  return existsSync(join(FIXTURES_DIR, FILES[name]));
}

/** The fixture's absolute path; throws, saying how to build it, when it is missing. */
export function fixturePath(name: FixtureName): string {
  const path = join(FIXTURES_DIR, FILES[name]);
  if (!existsSync(path)) {
    const hint =
      name === 'dockerSaveTar'
        ? ' (it needs Debian\'s dockerd: apt-get install docker.io)'
        : '';
    throw new Error(`test image fixture missing: ${path}\nRun \`npm run test-image\` to build it${hint}.`);
  }
  return path;
}

/**
 * `docker load`s the test image into a daemon from the OCI layout tar (default) or the real
 * `docker save` tar, and checks that berth.test/busybox:latest is then present.
 */
export async function loadTestImage(daemon: Pick<Daemon, 'docker'>, from: 'oci' | 'docker-save' = 'oci'): Promise<void> {
  const tar = fixturePath(from === 'oci' ? 'ociTar' : 'dockerSaveTar');
  const load = await daemon.docker(['load', '-i', tar]);
  if (load.code !== 0) throw new Error(`docker load -i ${tar} failed (${load.code}): ${load.stderr}`);
  const inspect = await daemon.docker(['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE]);
  if (inspect.code !== 0) {
    throw new Error(`after docker load -i ${tar}, ${TEST_IMAGE} is missing: ${inspect.stderr}\n${load.stdout}`);
  }
}
