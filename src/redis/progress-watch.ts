/**
 * Tells a Redis that stopped from a Redis that is busy, and both from a process that was busy itself.
 *
 * Redis has stalled when calls are waiting and no reply of any kind has arrived for `silenceMs` of time in which
 * this process's event loop was free to read one. A watchdog ticks every few milliseconds while calls wait. A tick
 * that comes late means the event loop was blocked (by the host's own work): replies may be sitting unread in the
 * socket, so that stretch is not held against Redis, and the lateness is counted as this process's, not Redis's.
 * A reply to any call (even an error reply, even one to a call already given up on) is progress and restarts the
 * silence; so are bytes received since the last tick (a long pipeline settles only with its last reply, while Redis
 * answers all along). Bytes are read off the sockets' counters at each tick, so a reply costs the watch nothing. A call also has a longest wait of its own (`maxWaitMs`, counted in the same free time): past it the call
 * is given up while Redis, still answering others, stays up.
 */

export type Release = 'stalled' | 'wait_limit' | 'connection';

export interface WaitingCall {
  /** Free time (ms) the watch had counted when the call started. */
  readonly startedAtFreeMs: number;
  release(why: Release): void;
}

export interface ProgressWatchOptions {
  /** Free silence that means Redis stalled. */
  silenceMs: number;
  /** Longest free wait of one call while Redis makes progress. */
  maxWaitMs: number;
  /** Called once per stall, after every waiting call was released. */
  onStall: (released: number) => void;
  /** Bytes received so far on Redis's connections; any change between two ticks is progress. */
  bytesReceived?: () => number;
}

/** A tick this much later than planned means the event loop was busy: that stretch counts for nobody. */
const LATE_FACTOR = 2;

export class ProgressWatch {
  private readonly waiting = new Set<WaitingCall>();
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | null = null;
  private lastTickAt = 0;
  private lastBytesReceived = 0;
  /** When the last waiting call ended: how long calls waited into a tick that finds none. */
  private emptiedAt = 0;
  /** Free time without a reply since the last one (or since calls started waiting). */
  private silentMs = 0;
  /** Free time counted while calls were waiting, ever. */
  private freeMs = 0;
  /** Ticks that came late: stretches in which this process, not Redis, was busy. */
  lateTicks = 0;
  /** The longest lateness seen, in ms. */
  maxLagMs = 0;

  constructor(private readonly options: ProgressWatchOptions) {
    this.tickMs = Math.min(50, Math.max(2, Math.floor(options.silenceMs / 5)));
  }

  /** A call starts waiting for its reply. */
  begin(release: (why: Release) => void): WaitingCall {
    if (this.waiting.size === 0) this.silentMs = 0;
    const call: WaitingCall = { startedAtFreeMs: this.freeMs, release };
    this.waiting.add(call);
    if (this.timer === null) this.start();
    return call;
  }

  /** The call got its reply, or was given up. */
  end(call: WaitingCall): void {
    this.waiting.delete(call);
    if (this.waiting.size === 0) this.emptiedAt = performance.now();
  }

  /** A reply of any kind arrived. */
  progress(): void {
    this.silentMs = 0;
  }

  /** Gives up every waiting call at once: the connection under them is gone. Returns how many there were. */
  releaseAll(why: Release): number {
    const released = [...this.waiting];
    this.waiting.clear();
    this.silentMs = 0;
    for (const call of released) call.release(why);
    return released.length;
  }

  close(): void {
    this.stop();
  }

  private start(): void {
    this.lastTickAt = performance.now();
    this.lastBytesReceived = this.options.bytesReceived?.() ?? 0;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = performance.now();
    const elapsed = now - this.lastTickAt;
    this.lastTickAt = now;
    // A late tick that finds no call waiting still counts when the calls waited through the lag: the event loop may
    // read the replies the lag held up just before it runs timers. Lag after the last call ended is nobody's wait.
    const lateBy = this.tickMs * LATE_FACTOR;
    const late = elapsed > lateBy;
    const waitedThroughLag = this.waiting.size > 0 || this.emptiedAt - (now - elapsed) > lateBy;
    if (late && waitedThroughLag) {
      this.lateTicks += 1;
      this.maxLagMs = Math.max(this.maxLagMs, elapsed - this.tickMs);
    }
    if (this.waiting.size === 0) {
      this.stop();
      return;
    }
    // Replies that arrived during the lag may be read after this tick, in this same turn of the loop: judge next tick.
    if (late) return;
    const bytes = this.options.bytesReceived?.() ?? 0;
    if (bytes !== this.lastBytesReceived) {
      this.lastBytesReceived = bytes;
      this.silentMs = 0;
    } else {
      this.silentMs += elapsed;
    }
    this.freeMs += elapsed;
    if (this.silentMs >= this.options.silenceMs) {
      this.stall();
      return;
    }
    // Oldest first (a Set keeps insertion order): stop at the first call still within its wait.
    for (const call of this.waiting) {
      if (this.freeMs - call.startedAtFreeMs < this.options.maxWaitMs) break;
      this.waiting.delete(call);
      call.release('wait_limit');
    }
  }

  private stall(): void {
    this.stop();
    this.options.onStall(this.releaseAll('stalled'));
  }
}
