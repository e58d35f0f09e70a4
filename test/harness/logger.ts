/** A logger that keeps every line, so tests can read what reprise would have logged. */
import type { Logger } from '../../src/logger.js';

export interface RecordingLogger extends Logger {
  lines: string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const record = (level: string) => (message: string, ...details: unknown[]) => {
    lines.push(`${level} ${message} ${details.map((detail) => (detail instanceof Error ? detail.message : String(detail))).join(' ')}`.trim());
  };
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}
