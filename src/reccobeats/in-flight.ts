/**
 * Identical requests in flight at the same moment share one promise: the second caller of a key gets the first
 * caller's answer (or error) instead of a second HTTP request. The key is forgotten as soon as it settles.
 */
export class InFlightRequests {
  private readonly pending = new Map<string, Promise<unknown>>();

  get size(): number {
    return this.pending.size;
  }

  /** Runs `start` unless a call with `key` is pending; `onShared` hears of each caller that joined one. */
  share<T>(key: string, start: () => Promise<T>, onShared?: () => void): Promise<T> {
    const existing = this.pending.get(key);
    if (existing) {
      onShared?.();
      return existing as Promise<T>;
    }
    const promise = start().finally(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return promise;
  }
}
