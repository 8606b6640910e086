/**
 * Runs queued work in order, in slices of a few milliseconds, yielding to the event loop in between:
 * a control plane push to 10,000 proxies must not stall the handshakes and acks of the same process.
 */
export class TimeSlicedQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly handle: (item: T) => void,
    private readonly sliceMs = 10,
  ) {}

  push(item: T): void {
    this.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  get length(): number {
    return this.items.length - this.head;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }

  private drain(): void {
    const deadline = performance.now() + this.sliceMs;
    while (this.head < this.items.length && performance.now() < deadline) {
      this.handle(this.items[this.head++] as T);
    }
    if (this.head < this.items.length) {
      setImmediate(() => this.drain());
      return;
    }
    this.items.length = 0;
    this.head = 0;
    this.scheduled = false;
  }
}
