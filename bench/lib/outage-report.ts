/** Latency per phase and call kind during the outage bench, checked against the SPEC's 100 ms bar. */
import { CALL_KINDS, type CallRecord } from './outage-load.js';
import { markdownTable, ms } from './format.js';
import { quantile } from './stats.js';

export const OUTAGE_BAR_MS = 100;
/** Phases the bar applies to: Redis down or hung, and the way back. */
const OUTAGE_PHASE = /killed|hung|restarted|resumed/;

export interface PhaseWindow {
  phase: string;
  ms: number;
  /** Worst event-loop stall in the phase: a call cannot answer faster than the loop turns. */
  eventLoopMaxMs: number;
  backendAtEnd: string;
}

export interface LatencyRow {
  phase: string;
  kind: string;
  calls: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** null where the bar does not apply (Redis healthy). */
  pass: boolean | null;
}

export interface OutageSummary {
  rows: LatencyRow[];
  pass: boolean;
}

export function summarizeOutage(records: readonly CallRecord[], windows: readonly PhaseWindow[]): OutageSummary {
  const rows: LatencyRow[] = [];
  for (const { phase } of windows) {
    for (const kind of CALL_KINDS) {
      const calls = records.filter((record) => record.phase === phase && record.kind === kind);
      if (calls.length === 0) continue;
      const sorted = calls.map((call) => call.ms).sort((a, b) => a - b);
      const failed = calls.filter((call) => call.failed).length;
      const max = sorted[sorted.length - 1]!;
      rows.push({
        phase,
        kind,
        calls: calls.length,
        failed,
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        max,
        pass: OUTAGE_PHASE.test(phase) ? max <= OUTAGE_BAR_MS && failed === 0 : null,
      });
    }
  }
  return { rows, pass: rows.every((row) => row.pass !== false) };
}

export function outageMarkdown(summary: OutageSummary, windows: readonly PhaseWindow[]): string {
  const latency = markdownTable(
    ['phase', 'call', 'calls', 'failed', 'p50', 'p99', 'max', `bar: max <= ${OUTAGE_BAR_MS} ms, none failed`],
    summary.rows.map((row) => [
      row.phase,
      row.kind,
      String(row.calls),
      String(row.failed),
      ms(row.p50),
      ms(row.p99),
      ms(row.max),
      row.pass === null ? '(Redis healthy)' : row.pass ? 'PASS' : 'FAIL',
    ]),
  );
  const phases = markdownTable(
    ['phase', 'lasted', 'worst event-loop stall', 'serving from at the end'],
    windows.map((window) => [window.phase, ms(window.ms), ms(window.eventLoopMaxMs), window.backendAtEnd]),
  );
  const verdict = summary.pass
    ? `PASS: every call made while Redis was down, hung or coming back answered within ${OUTAGE_BAR_MS} ms, and none failed.`
    : `FAIL: some call made while Redis was down, hung or coming back took over ${OUTAGE_BAR_MS} ms or failed (rows marked FAIL).`;
  return [latency, '', phases, '', verdict].join('\n');
}
