import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCgroupDriver } from './cgroups/detect.js';
import { parseConfig, USAGE, type DaemonConfig } from './config.js';
import { ContainerService } from './containers/service.js';
import { errnoCode, messageOf } from './errors.js';
import { createImageService } from './images/index.js';
import type { ImageUsers } from './images/types.js';
import { log } from './log.js';
import { loadAddon } from './native/addon.js';
import { Router } from './api/router.js';
import { listenApi } from './api/server.js';
import { registerContainerRoutes } from './api/routes/containers.js';
import { registerImageRoutes } from './api/routes/images.js';
import { registerDiskUsageRoutes, registerSystemRoutes } from './api/routes/system.js';
import { registerBuildRoutes } from './api/routes/build.js';
import { BuildService } from './build/service.js';
import { registerEventRoutes } from './api/routes/events.js';
import { registerStatsRoutes } from './api/routes/stats.js';
import { registerExecRoutes } from './api/routes/exec.js';
import { DataLayout } from './store/layout.js';
import { EventBus } from './events/bus.js';
import { NetworkService } from './network/service.js';
import { startDnsServer } from './network/dns/server.js';
import { registerNetworkRoutes } from './api/routes/networks.js';
import { registerVolumeRoutes } from './api/routes/volumes.js';
import { registerArchiveRoutes } from './api/routes/archive.js';
import { registerBrowseRoutes } from './api/routes/browse.js';
import { registerAuthRoutes } from './api/routes/auth.js';
import { createRegistryClient } from './registry/client.js';
import type { VolumeUsers } from './containers/volumes.js';
import { summaryView } from './containers/view.js';
import { VolumeService } from './volumes/service.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/** One berthd per exec root: a live pid in the pid file means another one owns it. */
async function claimPidFile(layout: DataLayout): Promise<void> {
  const existing = await readFile(layout.pidFile, 'utf8').catch(() => '');
  const pid = Number(existing.trim());
  if (pid > 0 && pid !== process.pid && processAlive(pid)) {
    throw new Error(`another berthd (pid ${pid}) is using ${layout.execRoot}; stop it first or pass --exec-root`);
  }
  await writeFile(layout.pidFile, `${process.pid}\n`, { mode: 0o644 });
}

/** Wires the daemon together; every module registers its own routes. */
export async function runDaemon(config: DaemonConfig): Promise<void> {
  const layout = new DataLayout(config.dataRoot, config.execRoot);
  await mkdir(config.dataRoot, { recursive: true, mode: 0o711 });
  await mkdir(config.execRoot, { recursive: true, mode: 0o711 });
  await claimPidFile(layout);

  const cgroups = await detectCgroupDriver();
  const events = new EventBus();
  const addon = loadAddon();
  // Images and containers refer to each other (rmi asks who uses an image): bind late.
  const users: ImageUsers & { isRunning(id: string): boolean } = {
    containersUsing: (id) => service.containersUsing(id),
    isRunning: (id) => service.find(id)?.State.Running === true,
  };
  // One registry client for pulls, pushes and logins: shared connections and token cache.
  const registry = createRegistryClient({ insecureRegistries: config.insecureRegistries });
  const images = createImageService({ layout, addon, users, events, registry });
  await images.init();
  // Networks and containers refer to each other (connect names a container): bind late.
  const networks: NetworkService = new NetworkService({
    layout,
    events,
    containers: {
      find: (ref) => service.find(ref),
      all: () => service.all(),
      save: (c) => service.save(c),
      refreshFiles: (c) => service.refreshFiles(c),
    },
    dns: startDnsServer,
    ...(config.bip !== undefined ? { bip: config.bip } : {}),
  });
  await networks.init();
  // Volumes and containers refer to each other (rm refuses a volume in use): bind late.
  const volumeUsers: VolumeUsers = {
    containersUsing: (name) => service.all().filter((c) => c.MountPoints?.some((m) => m.Type === 'volume' && m.Name === name) === true),
  };
  const volumes = new VolumeService({ layout, addon, events, users: volumeUsers });
  await volumes.init();
  const service: ContainerService = new ContainerService({ layout, images, cgroups, cgroupParent: config.cgroupParent, events, networks, volumes });
  await service.init();
  const builds = new BuildService({ layout, addon, images, containers: service });
  await builds.init();
  // Only now is it known which running containers use option-backed mounts a crash left.
  await volumes.reconcile();

  const router = new Router();
  registerSystemRoutes(router, {
    dataRoot: config.dataRoot,
    cgroupVersion: cgroups.version,
    counts: () => {
      const all = service.all();
      // moby counts a restarting container as stopped.
      const running = all.filter((c) => c.State.Running && !c.State.Paused && !c.State.Restarting).length;
      const paused = all.filter((c) => c.State.Paused).length;
      return { containers: all.length, running, paused, stopped: all.length - running - paused, images: images.count() };
    },
  });
  registerContainerRoutes(router, service, images);
  registerImageRoutes(router, images);
  registerStatsRoutes(router, service, addon);
  registerEventRoutes(router, events);
  registerExecRoutes(router, service);
  registerNetworkRoutes(router, networks);
  registerVolumeRoutes(router, volumes);
  registerArchiveRoutes(router, service, images, addon);
  registerBrowseRoutes(router, { addon, volumes, containers: service });
  registerAuthRoutes(router, registry);
  registerBuildRoutes(router, builds);
  registerDiskUsageRoutes(router, {
    images: (apiVersion) => images.list({ all: false, filters: new Map(), sharedSize: true, apiVersion }),
    layersSize: () => images.store.layers.all().reduce((sum, l) => sum + l.size, 0),
    containers: () =>
      service.all().map((c) => ({
        summary: { ...summaryView(c, service.ctx.networks), Id: c.Id, ImageID: c.Image },
        upperDir: join(layout.container(c.Id), 'upper'),
      })),
    volumes: () => volumes.usage(),
  });
  const api = await listenApi(router, config.socket);
  log.info('berthd.ready', { socket: config.socket, dataRoot: config.dataRoot, cgroup: `v${cgroups.version}`, pid: process.pid });

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info('berthd.shutdown', { signal });
      void (async () => {
        // Containers first, so attached clients still receive their exit codes.
        await service.shutdown();
        await volumes.shutdown();
        await networks.shutdown();
        await api.close();
        registry.close();
        await rm(config.socket, { force: true });
        await rm(layout.pidFile, { force: true });
        log.info('berthd.stopped', {});
        resolve();
      })();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

export async function main(argv: readonly string[]): Promise<void> {
  let config;
  try {
    config = parseConfig(argv);
  } catch (err) {
    process.stderr.write(`berthd: ${messageOf(err)}\n`);
    process.exit(2);
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd: must run as root (it creates namespaces, cgroups and mounts)\n');
    process.exit(1);
  }
  await runDaemon(config);
}
