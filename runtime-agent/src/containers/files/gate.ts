/**
 * One container's writable layer has one writer at a time: its run (overlay upper dir in use
 * by the kernel) or a writable hold (`docker cp` into a stopped container mounts the same
 * upper dir). Two overlays writing one upper dir corrupt it, so:
 *
 *   start            waits for a writable hold to be released, then runs its start
 *   writable hold    waits for a start in progress (then uses the live root if the container
 *                    now runs), and keeps every start waiting until it is released
 * Read-only holds and live roots do not take the gate. FIFO per container; nothing is kept
 * for a container once its last holder leaves.
 */
export class WritableLayerGate {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` (a start) holding the container's gate. */
  async run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(id);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Takes the container's gate; the returned function gives it back (idempotent). */
  async acquire(id: string): Promise<() => void> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    let open!: () => void;
    const mine = new Promise<void>((resolve) => {
      open = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(id, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    };
  }
}
