/** The fake v1 kernel: one hierarchy per controller under the root (see fake-kernel.ts). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { errno, FakeKernel, type FakeOptions } from './fake-kernel.js';

const V1_UNLIMITED = '9223372036854771712';

export class FakeV1Kernel extends FakeKernel {
  readonly hierarchies: readonly string[];

  constructor(options: FakeOptions = {}) {
    super(options);
    this.hierarchies = options.hierarchies ?? [
      'memory',
      'cpu,cpuacct',
      'cpuset',
      'pids',
      'freezer',
      'blkio',
      'devices',
    ];
    for (const hierarchy of [...this.hierarchies, 'systemd', 'unified']) {
      const dir = join(this.root, hierarchy);
      mkdirSync(dir);
      this.files(dir, { 'cgroup.procs': '1', tasks: '1' });
      this.populateControllers(dir, hierarchy);
    }
    this.files(join(this.root, this.hierarchyOf('cpuset') ?? 'cpuset'), {
      'cpuset.cpus': '0-1',
      'cpuset.mems': '0',
    });
  }

  /** The hierarchy directory holding `controller`. */
  hierarchyOf(controller: string): string | undefined {
    return this.hierarchies.find((h) => h.split(',').includes(controller));
  }

  /** `controller`'s file for group `path`, relative to the root. */
  fileOf(controller: string, path: string, file: string): string {
    return join(this.hierarchyOf(controller) ?? controller, path, file);
  }

  protected populate(dir: string): void {
    const hierarchy = relative(this.root, dir).split('/')[0] ?? '';
    this.files(dir, { 'cgroup.procs': '', tasks: '', notify_on_release: '0' });
    this.populateControllers(dir, hierarchy);
  }

  private populateControllers(dir: string, hierarchy: string): void {
    const isRoot = dirname(dir) === this.root;
    for (const controller of hierarchy.split(',')) {
      switch (controller) {
        case 'memory':
          this.files(dir, {
            'memory.limit_in_bytes': V1_UNLIMITED,
            'memory.usage_in_bytes': '0',
            'memory.max_usage_in_bytes': '0',
            'memory.stat': 'cache 0\nrss 0',
            'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0',
          });
          if (this.swapAccounting) this.files(dir, { 'memory.memsw.limit_in_bytes': V1_UNLIMITED });
          break;
        case 'cpu':
          this.files(dir, {
            'cpu.shares': '1024',
            'cpu.cfs_period_us': '100000',
            'cpu.cfs_quota_us': '-1',
            'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0',
          });
          break;
        case 'cpuacct':
          this.files(dir, {
            'cpuacct.usage': '0',
            'cpuacct.usage_percpu': '0 0',
            'cpuacct.stat': 'user 0\nsystem 0',
          });
          break;
        case 'cpuset':
          this.files(dir, { 'cpuset.cpus': '', 'cpuset.mems': '' });
          break;
        case 'pids':
          if (!isRoot) this.files(dir, { 'pids.max': 'max', 'pids.current': '0' });
          break;
        case 'freezer':
          if (!isRoot) this.files(dir, { 'freezer.state': 'THAWED' });
          break;
        case 'blkio':
          this.files(dir, {
            'blkio.throttle.io_service_bytes': 'Total 0',
            'blkio.throttle.io_service_bytes_recursive': 'Total 0',
          });
          break;
        case 'devices':
          this.files(dir, {
            'devices.list': isRoot ? 'a *:* rwm' : this.read(dirname(dir), 'devices.list'),
            'devices.allow': '',
            'devices.deny': '',
          });
          break;
      }
    }
  }

  protected beforeJoin(dir: string): void {
    if (existsSync(join(dir, 'cpuset.cpus'))) {
      if (this.read(dir, 'cpuset.cpus') === '' || this.read(dir, 'cpuset.mems') === '') {
        throw errno('ENOSPC', dir);
      }
    }
  }

  protected onWrite(dir: string, name: string, value: string): string | undefined {
    const asLimit = (text: string) =>
      text === '-1' || Number(text) >= 2 ** 62 ? Infinity : Number(text);
    switch (name) {
      case 'memory.limit_in_bytes': {
        const memsw = join(dir, 'memory.memsw.limit_in_bytes');
        if (existsSync(memsw) && asLimit(value) > asLimit(this.read(dir, basename(memsw)))) {
          throw errno('EINVAL', join(dir, name));
        }
        return value === '-1' ? V1_UNLIMITED : value;
      }
      case 'memory.memsw.limit_in_bytes':
        if (asLimit(value) < asLimit(this.read(dir, 'memory.limit_in_bytes'))) {
          throw errno('EINVAL', join(dir, name));
        }
        return value === '-1' ? V1_UNLIMITED : value;
      case 'cpu.cfs_period_us':
        if (Number(value) < 1000 || Number(value) > 1_000_000) throw errno('EINVAL', name);
        return value;
      case 'cpu.cfs_quota_us':
        if (value !== '-1' && Number(value) < 1000) throw errno('EINVAL', name);
        return value;
      case 'cpu.shares':
        return String(Math.min(262_144, Math.max(2, Number(value))));
      case 'freezer.state':
        if (value !== 'FROZEN' && value !== 'THAWED') throw errno('EINVAL', name);
        return value;
      case 'devices.deny':
        if (value === 'a') return this.setDevices(dir, []);
        throw errno('EINVAL', name); // the driver only ever denies everything
      case 'devices.allow': {
        if (value === 'a') return this.setDevices(dir, ['a *:* rwm']);
        const list = this.read(dir, 'devices.list').split('\n').filter(Boolean);
        return this.setDevices(dir, [...list, value]);
      }
      default:
        return value;
    }
  }

  private setDevices(dir: string, rules: string[]): undefined {
    writeFileSync(join(dir, 'devices.list'), rules.map((r) => r + '\n').join(''));
    return undefined;
  }
}

