/**
 * Faults the simulator injects on demand, consumed in the order they were planned: error statuses (429 with an
 * optional Retry-After, 500, 503, 404...) and hangs (the request is accepted and never answered, which a client
 * sees as a timeout). A fault may be limited to one endpoint.
 */
import type { SimulatorEndpoint } from './routes.js';
import { RepriseOptionsError } from '../../validate.js';

export interface FailNextOptions {
  /** HTTP status to answer with (default 500). */
  status?: number;
  /** Retry-After header: seconds, or an HTTP date as text. */
  retryAfter?: number | string;
  /** How many requests get this fault (default 1). */
  count?: number;
  /** Only requests to this endpoint get it (default: any). */
  endpoint?: SimulatorEndpoint;
}

export type Fault =
  | { kind: 'status'; status: number; retryAfter: string | undefined }
  | { kind: 'hang' };

interface PlannedFault {
  fault: Fault;
  endpoint: SimulatorEndpoint | undefined;
  remaining: number;
}

export class FaultPlan {
  private planned: PlannedFault[] = [];

  failNext(options: FailNextOptions = {}): void {
    const status = options.status ?? 500;
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new RepriseOptionsError('out_of_range', 'status', `a fault status is 400-599, got ${status}`);
    const retryAfter = options.retryAfter === undefined ? undefined : String(options.retryAfter);
    this.plan({ kind: 'status', status, retryAfter }, options.count, options.endpoint);
  }

  hangNext(count = 1, endpoint?: SimulatorEndpoint): void {
    this.plan({ kind: 'hang' }, count, endpoint);
  }

  /** The fault for the next request to `endpoint`, if one is planned. */
  take(endpoint: SimulatorEndpoint): Fault | null {
    const entry = this.planned.find((planned) => planned.endpoint === undefined || planned.endpoint === endpoint);
    if (!entry) return null;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.planned = this.planned.filter((planned) => planned !== entry);
    return entry.fault;
  }

  /** Faults still waiting for a request. */
  get pending(): number {
    return this.planned.reduce((sum, planned) => sum + planned.remaining, 0);
  }

  clear(): void {
    this.planned = [];
  }

  private plan(fault: Fault, count = 1, endpoint: SimulatorEndpoint | undefined): void {
    if (!Number.isInteger(count) || count < 1) throw new RepriseOptionsError('out_of_range', 'count', `count must be a whole number >= 1, got ${count}`);
    this.planned.push({ fault, endpoint, remaining: count });
  }
}
