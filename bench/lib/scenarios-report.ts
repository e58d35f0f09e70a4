/** Median latency per scenario, as a ratio of the no-cache baseline, next to what the original system claimed. */
import { markdownTable, ms, ratio } from './format.js';
import { median, summarize, type Summary } from './stats.js';

export interface RequestSample {
  ms: number;
  /** Where the demo says the playlist came from, and where it should have come from in this scenario. */
  source: string;
  expectedSource: string;
  tracks: number;
  reccobeatsRequests: number;
  /** ReccoBeats requests the same request makes without any cache, minus those it made (where measured). */
  reccobeatsAvoided?: number;
  moodAnalysisCalls: number;
  topTracksCalls: number;
}

export interface ScenarioRow {
  name: string;
  latency: Summary;
  /** Median latency ÷ the baseline's median latency. */
  ofBaseline: number;
  /** Median per request. */
  reccobeatsRequests: number;
  /** Median per request, where the scenario measures it; null otherwise. */
  reccobeatsAvoided: number | null;
  moodAnalysisCalls: number;
  topTracksCalls: number;
  /** Requests not answered from where the scenario expects (e.g. 'computed' where 'cached' was due). */
  unexpectedSources: number;
  samples: RequestSample[];
}

/**
 * What the original system claimed, as shares of its no-cache latency. Its first-time user (0.75) is a new user on a
 * system others have used, not a system with everything cold.
 */
const ORIGINAL_CLAIMS: Record<string, string> = {
  'first-time user on a system other users warmed (shared registry and track details, own data cold)': '0.75',
  'returning user, warm cache': '0.25',
  'popular mood, precomputed': '0.04 – 0.08',
};

export function summarizeScenario(name: string, samples: RequestSample[]): ScenarioRow {
  return {
    name,
    latency: summarize(samples.map((sample) => sample.ms)),
    ofBaseline: Number.NaN,
    reccobeatsRequests: median(samples.map((sample) => sample.reccobeatsRequests)),
    reccobeatsAvoided: samples.every((sample) => sample.reccobeatsAvoided !== undefined) && samples.length > 0
      ? median(samples.map((sample) => sample.reccobeatsAvoided!))
      : null,
    moodAnalysisCalls: median(samples.map((sample) => sample.moodAnalysisCalls)),
    topTracksCalls: median(samples.map((sample) => sample.topTracksCalls)),
    unexpectedSources: samples.filter((sample) => sample.source !== sample.expectedSource || sample.tracks === 0).length,
    samples,
  };
}

export function scenariosMarkdown(rows: ScenarioRow[]): string {
  const baseline = rows[0]!;
  for (const row of rows) row.ofBaseline = row.latency.median / baseline.latency.median;
  const table = markdownTable(
    ['scenario', 'median latency (min – max)', 'of baseline', 'original claimed', 'ReccoBeats requests', 'ReccoBeats requests avoided', 'mood analyses (LLM)', 'top-tracks calls (Spotify)', 'answered as expected'],
    rows.map((row, index) => [
      index === 0 ? `**${row.name}**` : row.name,
      `${ms(row.latency.median)} (${ms(row.latency.min)} – ${ms(row.latency.max)})`,
      index === 0 ? '1x' : ratio(row.ofBaseline),
      ORIGINAL_CLAIMS[row.name] ?? '',
      String(row.reccobeatsRequests),
      row.reccobeatsAvoided === null ? '' : String(row.reccobeatsAvoided),
      String(row.moodAnalysisCalls),
      String(row.topTracksCalls),
      `${row.samples.length - row.unexpectedSources} of ${row.samples.length} (${row.samples[0]?.expectedSource ?? ''})`,
    ]),
  );
  return [
    table,
    '',
    `Upstream waits: the original's divided by 100 (ReccoBeats 100 ms per request, mood analysis 150 ms, top tracks 50 ms). ` +
      'Requests one at a time over HTTP to the demo back end; upstream calls are medians per request. ' +
      "Users' top tracks are two thirds songs many users share (a chart) and a third their own. " +
      'First-time user on a warmed system: 40 other users made playlists first; each measured user is new and asks for a mood nobody asked for, ' +
      'and "avoided" is the same request without any cache minus the requests it made.',
  ].join('\n');
}
