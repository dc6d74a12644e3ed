/**
 * At most `limit` tasks at once, started in the order they were queued (Docker's transfer
 * manager: 3 concurrent downloads, 5 concurrent uploads). `onQueued` runs when a task must
 * wait for a slot, so the caller can say `Waiting` as Docker does.
 */
export class Slots {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>, onQueued?: () => void): Promise<T> {
    if (this.running >= this.limit) {
      onQueued?.();
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
