import { expect } from 'vitest';
import type { CommandResult } from './command.js';
import type { Daemon } from './daemon.js';
import type { TestNetwork } from './netns.js';

/** What every networking test file uses: the CLI, berthd's test network, and a CLI call that must succeed. */
export interface NetworkKit {
  docker(args: string[]): Promise<CommandResult>;
  /** berthd's test-made namespace pair (fails the test if berthd was started without one). */
  net(): TestNetwork;
  /** Runs the CLI, asserts exit 0 (with its stderr in the message) and returns trimmed stdout. */
  ok(args: string[]): Promise<string>;
}

export function networkKit(daemon: () => Daemon): NetworkKit {
  const docker = (args: string[]): Promise<CommandResult> => daemon().docker(args);
  return {
    docker,
    net: () => {
      const n = daemon().netns;
      if (!n) throw new Error('these tests need berthd in a test network namespace');
      return n;
    },
    ok: async (args) => {
      const r = await docker(args);
      expect(r.code, `docker ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout.trim();
    },
  };
}
