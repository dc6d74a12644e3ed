import { join } from 'node:path';

/**
 * The data root, owned by berthd. Everything persistent lives here; everything under
 * the exec root may vanish at reboot.
 *
 *   <data-root>/
 *   ├── blobs/sha256/<hex>            content store: manifests, configs, layer tars (by digest)
 *   ├── layers/<chain-id hex>/        one unpacked layer, shared by every image that has it
 *   │   ├── diff/                     the layer's files, whiteouts in overlay form
 *   │   └── layer.json                diff ID, parent chain ID, size
 *   ├── images/
 *   │   ├── <image id hex>.json       image metadata: config digest, layers, created
 *   │   ├── repositories.json         name:tag and name@digest → image ID
 *   │   └── distribution.json         diff ID → registry blobs it is known as (push skips, mounts)
 *   ├── containers/<id>/
 *   │   ├── container.json            config, host config, state (the container's record)
 *   │   ├── upper/  work/             the container's writable overlay layer
 *   │   ├── hostname  hosts  resolv.conf
 *   │   └── <id>-json.log[.N]         json-file logs, rotated by size
 *   ├── networks/<id>.json            one network: definition, IPAM pool, live endpoints
 *   ├── volumes/<name>/
 *   │   ├── volume.json               driver, labels, options, created
 *   │   └── _data/                    the volume's files (a mount point for option-backed ones)
 *   ├── build/cache.json              the classic builder's cache: step key → image (build/cache.ts)
 *   └── tmp/                          staging for loads, imports and builds (emptied at start)
 *
 *   <exec-root>/
 *   ├── berthd.pid
 *   ├── build/hold-<hex>/             a build step's image hold (build/image-filesystem.ts)
 *   └── containers/<id>/              per-run scratch (the rootfs mount point, a hold's mount point)
 */
export class DataLayout {
  constructor(
    readonly dataRoot: string,
    readonly execRoot: string,
  ) {}

  get blobsDir(): string {
    return join(this.dataRoot, 'blobs', 'sha256');
  }
  blob(hex: string): string {
    return join(this.blobsDir, hex);
  }
  get layersDir(): string {
    return join(this.dataRoot, 'layers');
  }
  layer(chainHex: string): string {
    return join(this.layersDir, chainHex);
  }
  get imagesDir(): string {
    return join(this.dataRoot, 'images');
  }
  get containersDir(): string {
    return join(this.dataRoot, 'containers');
  }
  container(id: string): string {
    return join(this.containersDir, id);
  }
  get networksDir(): string {
    return join(this.dataRoot, 'networks');
  }
  get volumesDir(): string {
    return join(this.dataRoot, 'volumes');
  }
  volume(name: string): string {
    return join(this.volumesDir, name);
  }
  get tmpDir(): string {
    return join(this.dataRoot, 'tmp');
  }
  get pidFile(): string {
    return join(this.execRoot, 'berthd.pid');
  }
  runContainer(id: string): string {
    return join(this.execRoot, 'containers', id);
  }
}
