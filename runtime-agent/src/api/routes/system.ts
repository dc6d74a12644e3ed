import { cpus, hostname, release, totalmem } from 'node:os';
import { diskUsage, parseKinds, type DiskUsageSources } from '../../system/df.js';
import type { RequestContext, Router } from '../router.js';
import { API_VERSION, MIN_API_VERSION } from '../server.js';

export interface SystemInfoSource {
  readonly dataRoot: string;
  readonly cgroupVersion: 1 | 2;
  counts(): { containers: number; running: number; paused: number; stopped: number; images: number };
}

export const BERTH_VERSION = '0.1.0';

function ping(ctx: RequestContext): void {
  ctx.res.setHeader('Builder-Version', '1');
  ctx.res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  ctx.res.setHeader('Pragma', 'no-cache');
  ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': ctx.req.method === 'HEAD' ? 0 : 2 });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

/** `/_ping`, `/version` and `/info`. */
export function registerSystemRoutes(router: Router, source: SystemInfoSource): void {
  router.get('/_ping', async (ctx) => ping(ctx));
  router.head('/_ping', async (ctx) => ping(ctx));

  router.get('/version', async (ctx) => {
    const body = JSON.stringify({
      Platform: { Name: 'Berth' },
      Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: 'amd64', KernelVersion: release() } }],
      Version: BERTH_VERSION,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berthd',
      GoVersion: process.version,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: release(),
      BuildTime: '',
    });
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });

  router.get('/info', async (ctx) => {
    const n = source.counts();
    const body = JSON.stringify({
      ID: hostname(),
      Containers: n.containers,
      ContainersRunning: n.running,
      ContainersPaused: n.paused,
      ContainersStopped: n.stopped,
      Images: n.images,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Log: ['json-file'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      OomKillDisable: false,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: String(source.cgroupVersion),
      KernelVersion: release(),
      OperatingSystem: 'Berth',
      OSVersion: BERTH_VERSION,
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      DockerRootDir: source.dataRoot,
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: { 'berth-helper': { path: 'berth-helper' } },
      DefaultRuntime: 'berth-helper',
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'],
      Warnings: [],
    });
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
}

/** `GET /system/df` (system/df.ts); `POST /build/prune` is the builder's (routes/build.ts). */
export function registerDiskUsageRoutes(router: Router, sources: DiskUsageSources): void {
  router.get('/system/df', async (ctx) => {
    const usage = await diskUsage(sources, parseKinds(ctx.query.getAll('type'), ctx.apiVersion), ctx.apiVersion);
    const body = JSON.stringify(usage);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
}
