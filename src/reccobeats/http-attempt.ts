/**
 * One HTTP request to ReccoBeats: a CLIENT span, a deadline (AbortSignal.timeout covers the headers and the body),
 * the outcome counted and timed per endpoint. It never throws: every ending is an `AttemptResult` the retry
 * policy can judge.
 */
import { SpanKind, SpanStatusCode, context, propagation, type Attributes } from '@opentelemetry/api';
import type { Telemetry } from '../telemetry/telemetry.js';
import { parseRetryAfter } from './retry-policy.js';
import { RECCOBEATS_ENDPOINTS, type ReccobeatsEndpoint } from './types.js';

export const UPSTREAM_SERVICE = 'reccobeats';
/** Header the ReccoBeats simulator puts on every answer. */
export const SIMULATOR_HEADER = 'x-reccobeats-simulator';

export type AttemptResult =
  | { kind: 'success'; status: number; body: unknown; fromSimulator: boolean }
  | { kind: 'invalid_response'; status: number }
  | { kind: 'http'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'timeout' }
  | { kind: 'network'; cause: string };

export interface AttemptRequest {
  endpoint: ReccobeatsEndpoint;
  url: URL;
  timeoutMs: number;
  /** Retries made before this attempt (0 for the first). */
  resendCount: number;
}

export async function sendAttempt(request: AttemptRequest, telemetry: Telemetry): Promise<AttemptResult> {
  const { method, template } = RECCOBEATS_ENDPOINTS[request.endpoint];
  const attributes: Attributes = {
    'http.request.method': method,
    'url.template': template,
    'server.address': request.url.hostname,
    'server.port': Number(request.url.port) || (request.url.protocol === 'https:' ? 443 : 80),
  };
  if (request.resendCount > 0) attributes['http.request.resend_count'] = request.resendCount;

  return telemetry.span(`${method} ${template}`, async (span) => {
    const started = performance.now();
    const result = await fetchOnce(request, method);
    const seconds = (performance.now() - started) / 1_000;

    const labels = { service: UPSTREAM_SERVICE, endpoint: request.endpoint };
    telemetry.metrics.upstreamRequests.inc({ ...labels, outcome: outcomeLabel(result) });
    telemetry.metrics.upstreamDuration.observe(labels, seconds);

    if ('status' in result) span.setAttribute('http.response.status_code', result.status);
    if (result.kind !== 'success') {
      const errorType = result.kind === 'http' ? String(result.status) : result.kind;
      span.setAttribute('error.type', errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
    }
    return result;
  }, { kind: SpanKind.CLIENT, attributes });
}

async function fetchOnce(request: AttemptRequest, method: string): Promise<AttemptResult> {
  try {
    const headers: Record<string, string> = { accept: 'application/json' };
    // W3C trace context (traceparent), when the host runs a propagator: the API's side joins this trace.
    propagation.inject(context.active(), headers);
    const response = await fetch(request.url, {
      method,
      headers,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    if (!response.ok) {
      // Drain nothing we will not read, but free the connection.
      await response.body?.cancel().catch(() => undefined);
      return { kind: 'http', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) ?? undefined };
    }
    const text = await response.text();
    const fromSimulator = response.headers.get(SIMULATOR_HEADER) === 'true';
    try {
      return { kind: 'success', status: response.status, body: JSON.parse(text) as unknown, fromSimulator };
    } catch {
      return { kind: 'invalid_response', status: response.status };
    }
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') return { kind: 'timeout' };
    return { kind: 'network', cause: networkCause(error) };
  }
}

/** The outcome label of `reprise_upstream_requests_total`. */
export function outcomeLabel(result: AttemptResult): string {
  switch (result.kind) {
    case 'success':
      return 'success';
    case 'invalid_response':
      return 'invalid_response';
    case 'timeout':
      return 'timeout';
    case 'network':
      return 'network_error';
    case 'http':
      if (result.status === 429) return 'rate_limited';
      return result.status >= 500 ? 'server_error' : 'client_error';
  }
}

/** undici wraps the socket error in `cause`; its code (ECONNREFUSED...) says enough and holds no secret. */
function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  return error instanceof Error ? error.name : 'unknown';
}
