/** The fake v2 kernel: the unified hierarchy at the root (see fake-kernel.ts). */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errno, FakeKernel, type FakeOptions } from './fake-kernel.js';


const CANONICAL_ORDER = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'];
/** A file each controller adds to a group, to tell whether it is there already. */
const CONTROLLER_MARKERS: Record<string, string> = {
  cpuset: 'cpuset.cpus',
  cpu: 'cpu.max',
  io: 'io.stat',
  memory: 'memory.max',
  pids: 'pids.max',
};

export class FakeV2Kernel extends FakeKernel {
  constructor(options: FakeOptions = {}) {
    super(options);
    const controllers = options.controllers ?? ['cpuset', 'cpu', 'io', 'memory', 'pids'];
    this.files(this.root, {
      'cgroup.controllers': controllers.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '1',
      'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0',
    });
  }

  protected populate(dir: string): void {
    const offered = this.read(dirname(dir), 'cgroup.subtree_control').split(' ').filter(Boolean);
    this.files(dir, {
      'cgroup.controllers': offered.join(' '),
      'cgroup.subtree_control': '',
      'cgroup.procs': '',
      'cgroup.events': 'populated 0\nfrozen 0',
      'cgroup.freeze': '0',
      'cgroup.kill': '',
      'cgroup.type': 'domain',
      'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0',
    });
    for (const controller of offered) this.addControllerFiles(dir, controller);
  }

  private addControllerFiles(dir: string, controller: string): void {
    switch (controller) {
      case 'memory':
        this.files(dir, {
          'memory.max': 'max',
          'memory.current': '0',
          'memory.peak': '0',
          'memory.stat': 'anon 0\nfile 0',
          'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0',
        });
        if (this.swapAccounting) this.files(dir, { 'memory.swap.max': 'max' });
        break;
      case 'cpu':
        this.files(dir, { 'cpu.max': 'max 100000', 'cpu.weight': '100' });
        break;
      case 'pids':
        this.files(dir, { 'pids.max': 'max', 'pids.current': '0' });
        break;
      case 'cpuset':
        this.files(dir, { 'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpus.effective': '0-1' });
        break;
      case 'io':
        this.files(dir, { 'io.stat': '', 'io.max': '', 'io.weight': 'default 100' });
        break;
    }
  }

  protected beforeJoin(dir: string): void {
    if (dir !== this.root && this.read(dir, 'cgroup.subtree_control') !== '') {
      throw errno('EBUSY', dir); // no internal processes
    }
  }

  protected onWrite(dir: string, name: string, value: string): string | undefined {
    switch (name) {
      case 'cgroup.subtree_control':
        return this.changeSubtree(dir, value);
      case 'cgroup.freeze': {
        if (value !== '0' && value !== '1') throw errno('EINVAL', name);
        const events = this.read(dir, 'cgroup.events').replace(/frozen \d/, `frozen ${value}`);
        writeFileSync(join(dir, 'cgroup.events'), events + '\n');
        return value;
      }
      case 'cgroup.kill':
        if (value !== '1') throw errno('EINVAL', name);
        this.removePid(dir);
        return undefined;
      case 'memory.max':
      case 'memory.swap.max':
      case 'pids.max':
        if (value !== 'max' && !/^\d+$/.test(value)) throw errno('EINVAL', name);
        return value;
      case 'cpu.max': {
        const match = /^(max|\d+) (\d+)$/.exec(value);
        if (!match || (match[1] !== 'max' && Number(match[1]) < 1000)) throw errno('EINVAL', name);
        return value;
      }
      case 'cpu.weight':
        if (Number(value) < 1 || Number(value) > 10_000) throw errno('ERANGE', name);
        return value;
      default:
        return value;
    }
  }

  private changeSubtree(dir: string, value: string): string {
    const offered = this.read(dir, 'cgroup.controllers').split(' ');
    const enabled = new Set(this.read(dir, 'cgroup.subtree_control').split(' ').filter(Boolean));
    if (dir !== this.root && this.read(dir, 'cgroup.procs') !== '') throw errno('EBUSY', dir);
    for (const token of value.split(' ')) {
      const controller = token.slice(1);
      if (!offered.includes(controller)) throw errno('ENOENT', join(dir, 'cgroup.subtree_control'));
      if (token.startsWith('+')) enabled.add(controller);
      else if (token.startsWith('-')) enabled.delete(controller);
      else throw errno('EINVAL', dir);
    }
    const list = CANONICAL_ORDER.filter((c) => enabled.has(c));
    for (const child of readdirSync(dir, { withFileTypes: true })) {
      if (!child.isDirectory()) continue;
      const childDir = join(dir, child.name);
      this.files(childDir, { 'cgroup.controllers': list.join(' ') });
      for (const controller of list) {
        const marker = CONTROLLER_MARKERS[controller];
        if (marker && !existsSync(join(childDir, marker))) this.addControllerFiles(childDir, controller);
      }
    }
    return list.join(' ');
  }
}
