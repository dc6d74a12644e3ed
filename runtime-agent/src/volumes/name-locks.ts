/**
 * One FIFO queue per volume name: create, remove, mount and unmount of the same volume run
 * one at a time, while different volumes proceed in parallel (a prune measuring a big volume
 * does not hold up a container starting on another).
 */
export class NameLocks {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return result;
  }
}
