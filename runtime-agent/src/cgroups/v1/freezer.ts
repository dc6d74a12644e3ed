/**
 * v1 freezer controller: write FROZEN to `freezer.state`, then read it until the kernel says
 * FROZEN (it says FREEZING while tasks are still being stopped). A group can stay FREEZING
 * when a task forks or sleeps uninterruptibly at the wrong moment; as runc does, thaw and try
 * again rather than wait forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupDir } from '../dir.js';
import { systemError } from '../../errors.js';

const STATE = 'freezer.state';
const ATTEMPT_MS = 100;
const TIMEOUT_MS = 5000;

export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

export async function freezerState(dir: CgroupDir): Promise<FreezerState | undefined> {
  const state = await dir.readOptional(STATE);
  return state === 'THAWED' || state === 'FREEZING' || state === 'FROZEN' ? state : undefined;
}

export async function freeze(dir: CgroupDir): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    await dir.write(STATE, 'FROZEN');
    const attemptEnd = Math.min(deadline, Date.now() + ATTEMPT_MS);
    for (;;) {
      if ((await freezerState(dir)) === 'FROZEN') return;
      if (Date.now() >= attemptEnd) break;
      await sleep(2);
    }
    await dir.write(STATE, 'THAWED');
    await sleep(1);
  }
  throw systemError(`cgroup: ${dir.path} did not freeze within ${TIMEOUT_MS} ms`);
}

export async function thaw(dir: CgroupDir): Promise<void> {
  await dir.write(STATE, 'THAWED');
}
