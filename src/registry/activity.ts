/**
 * What this process asked of the registry and what that saved: lookups by result, and upstream calls avoided by
 * reason. Kept as plain counters for stats() and mirrored into the Prometheus metrics of the SPEC.
 */
import type { Telemetry } from '../telemetry/telemetry.js';
import { RepriseInputError } from '../errors.js';
import type { MissingReason } from './entries.js';

export type LookupResult = 'validated' | 'missing' | 'unknown';

const REASON = /^[a-z][a-z0-9_]{0,39}$/;
/** Reasons become metric labels: past this many distinct ones, new ones are counted as "other". */
const MAX_REASONS = 20;

export interface ActivitySnapshot {
  lookups: { total: number; validated: number; missing: number; unknown: number };
  /** Lookups the registry could answer (validated or known missing), and their share of all lookups. */
  hits: { total: number; validated: number; missing: number; rate: number };
  apiCallsAvoided: number;
  apiCallsAvoidedByReason: Record<string, number>;
  /** Marks this process made: validated mappings, and missing IDs by reason. */
  marks: { validated: number; missing: Partial<Record<MissingReason, number>> };
}

export class RegistryActivity {
  private readonly lookups: Record<LookupResult, number> = { validated: 0, missing: 0, unknown: 0 };
  private readonly avoided = new Map<string, number>();
  private validations = 0;
  private readonly missingMarks = new Map<MissingReason, number>();

  constructor(private readonly telemetry: Telemetry) {}

  recordLookups(counts: Record<LookupResult, number>): void {
    for (const result of ['validated', 'missing', 'unknown'] as const) {
      const count = counts[result];
      if (count === 0) continue;
      this.lookups[result] += count;
      this.telemetry.metrics.idRegistryLookups.inc({ result }, count);
    }
  }

  recordValidations(count: number): void {
    if (count === 0) return;
    this.validations += count;
    this.telemetry.metrics.idRegistryValidations.inc(count);
  }

  recordMissingMarks(reason: MissingReason, count: number): void {
    if (count === 0) return;
    this.missingMarks.set(reason, (this.missingMarks.get(reason) ?? 0) + count);
    this.telemetry.metrics.idRegistryMissingMarks.inc({ reason }, count);
  }

  recordApiCallsAvoided(reason: string, count: number): void {
    if (typeof reason !== 'string' || !REASON.test(reason)) {
      throw new RepriseInputError(`an avoided-call reason is 1-40 characters of a-z, 0-9 and _, starting with a letter, got ${JSON.stringify(reason)}`);
    }
    if (!Number.isInteger(count) || count < 0) throw new RepriseInputError(`count must be a whole number >= 0, got ${count}`);
    if (count === 0) return;
    const label = this.avoided.has(reason) || this.avoided.size < MAX_REASONS ? reason : 'other';
    this.avoided.set(label, (this.avoided.get(label) ?? 0) + count);
    this.telemetry.metrics.upstreamCallsAvoided.inc({ reason: label }, count);
  }

  snapshot(): ActivitySnapshot {
    const { validated, missing, unknown } = this.lookups;
    const total = validated + missing + unknown;
    const hits = validated + missing;
    let apiCallsAvoided = 0;
    for (const count of this.avoided.values()) apiCallsAvoided += count;
    return {
      lookups: { total, validated, missing, unknown },
      hits: { total: hits, validated, missing, rate: total === 0 ? 0 : hits / total },
      apiCallsAvoided,
      apiCallsAvoidedByReason: Object.fromEntries([...this.avoided].sort(([a], [b]) => a.localeCompare(b))),
      marks: { validated: this.validations, missing: Object.fromEntries(this.missingMarks) },
    };
  }
}
