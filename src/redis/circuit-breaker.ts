/**
 * Opens after consecutive failures so a dead or hung Redis costs nothing for a while, then lets one probe through
 * (half-open). Each failed probe doubles the pause, up to a ceiling; a success closes the circuit.
 */
import { knownKeys, optionNames, optionOfType, wholeNumber } from '../validate.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold?: number;
  /** First pause before a probe, in ms. */
  openMs?: number;
  /** Longest pause before a probe, in ms. */
  maxOpenMs?: number;
  now?: () => number;
}

const CIRCUIT_BREAKER_OPTIONS = optionNames<CircuitBreakerOptions>({ failureThreshold: true, openMs: true, maxOpenMs: true, now: true });

export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly maxOpenMs: number;
  private readonly now: () => number;
  private consecutiveFailures = 0;
  private currentOpenMs: number;
  private openUntil = 0;
  private probeInFlight = false;
  private current: BreakerState = 'closed';
  /** Times the circuit went from closed to open (a failed probe re-opening it is the same opening). */
  openings = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    knownKeys(options, CIRCUIT_BREAKER_OPTIONS, 'circuitBreaker');
    optionOfType(options.now, 'function', 'circuitBreaker.now');
    this.failureThreshold = wholeNumber(options.failureThreshold ?? 3, 'circuitBreaker.failureThreshold');
    this.openMs = wholeNumber(options.openMs ?? 1_000, 'circuitBreaker.openMs');
    this.maxOpenMs = wholeNumber(options.maxOpenMs ?? 30_000, 'circuitBreaker.maxOpenMs', this.openMs);
    this.now = options.now ?? Date.now;
    this.currentOpenMs = this.openMs;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a request may go to Redis now. In half-open state exactly one probe is let through. */
  allowRequest(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.now() < this.openUntil) return false;
      this.current = 'half_open';
      this.probeInFlight = false;
    }
    if (this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.currentOpenMs = this.openMs;
    this.probeInFlight = false;
    this.current = 'closed';
  }

  recordFailure(): void {
    this.consecutiveFailures += 1;
    if (this.current === 'half_open') {
      this.currentOpenMs = Math.min(this.currentOpenMs * 2, this.maxOpenMs);
      this.open();
    } else if (this.current === 'closed' && this.consecutiveFailures >= this.failureThreshold) {
      this.open();
    }
  }

  /** Opens at once, e.g. when the connection is known to be gone. */
  trip(): void {
    if (this.current !== 'open') this.open();
  }

  /** Closes at once, e.g. when the connection has just become ready. */
  reset(): void {
    this.recordSuccess();
  }

  private open(): void {
    if (this.current === 'closed') this.openings += 1;
    this.current = 'open';
    this.probeInFlight = false;
    this.openUntil = this.now() + this.currentOpenMs;
  }
}
