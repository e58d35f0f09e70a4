/** What the simulator has been asked: requests per endpoint, the IDs of every track lookup, peak concurrency. */
import type { SimulatorEndpoint } from './routes.js';

export class RequestCounters {
  /** Every request received, faulted ones included. */
  total = 0;
  byEndpoint: Partial<Record<SimulatorEndpoint, number>> = {};
  byStatus: Record<number, number> = {};
  /** The `ids` of each `GET /v1/track` request, in arrival order. */
  trackBatches: string[][] = [];
  /** Requests being handled now (waiting out latency, hanging). */
  inFlight = 0;
  /** The most requests ever handled at once since the last reset. */
  maxInFlight = 0;
  /** Requests left hanging on purpose. */
  hung = 0;

  /** Every Spotify or ReccoBeats ID asked for through `GET /v1/track`, repeats included. */
  get idsRequested(): string[] {
    return this.trackBatches.flat();
  }

  count(endpoint: SimulatorEndpoint): number {
    return this.byEndpoint[endpoint] ?? 0;
  }

  begin(endpoint: SimulatorEndpoint): void {
    this.total += 1;
    this.byEndpoint[endpoint] = this.count(endpoint) + 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
  }

  answered(status: number): void {
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
  }

  end(): void {
    this.inFlight -= 1;
  }

  /** Forgets the history; requests still in flight stay counted as such. */
  reset(): void {
    this.total = 0;
    this.byEndpoint = {};
    this.byStatus = {};
    this.trackBatches = [];
    this.maxInFlight = this.inFlight;
    this.hung = 0;
  }
}
