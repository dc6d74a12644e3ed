import type Dockerode from 'dockerode';
import type { EngineInfo } from '../../shared/bridge.js';

/** /version and /info in the bridge's shape. */
export async function readEngineInfo(docker: Dockerode): Promise<EngineInfo> {
  const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<Record<string, unknown>>]);
  // berthd names itself in Platform.Name, as Docker Desktop's engine does ("Docker Desktop …").
  const platform = (version as { Platform?: { Name?: string } }).Platform?.Name ?? '';
  const isBerth = /^berth/i.test(platform);
  const num = (key: string): number => (typeof info[key] === 'number' ? (info[key] as number) : 0);
  const str = (key: string): string => (typeof info[key] === 'string' ? (info[key] as string) : '');
  const running = num('ContainersRunning');
  const paused = num('ContainersPaused');
  return {
    name: isBerth ? 'berthd' : platform || 'Docker Engine',
    isBerth,
    version: version.Version,
    apiVersion: version.ApiVersion,
    os: str('OperatingSystem') || version.Os,
    arch: version.Arch,
    kernel: version.KernelVersion,
    hostname: str('Name'),
    cpus: num('NCPU'),
    memoryBytes: num('MemTotal'),
    cgroupVersion: str('CgroupVersion'),
    storageDriver: str('Driver'),
    containers: { total: num('Containers'), running, paused, stopped: num('ContainersStopped') },
    images: num('Images'),
  };
}
