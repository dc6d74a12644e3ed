/**
 * A FIFO async mutex: the image store's mutations (records, references, garbage
 * collection) run one at a time so files and maps never see interleaved updates.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
