/**
 * The one object every capability reports to: Prometheus metrics, OpenTelemetry spans (tracer `reprise` from the
 * given provider or the global one; no SDK needed) and the profiler behind /profiling/metrics.
 */
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, context, trace, type Attributes, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';
import type { Registry } from 'prom-client';
import { RepriseMetrics } from './metrics.js';
import { Profiler } from './profiler.js';
import { VERSION } from '../version.js';

export const TRACER_NAME = 'reprise';

export interface TelemetryOptions {
  /** prom-client registry for the metrics (default: a new one of reprise's own). */
  registry?: Registry;
  /** Where spans go (default: the global provider, a no-op until the host starts an SDK). */
  tracerProvider?: TracerProvider;
}

export interface SpanOptions {
  attributes?: Attributes;
  /** Start a new trace even when a span is active (scheduled jobs, background runs). */
  root?: boolean;
  kind?: SpanKind;
}

export class Telemetry {
  readonly metrics: RepriseMetrics;
  readonly profiler: Profiler;
  private readonly tracerProvider: TracerProvider | undefined;
  private cachedTracer: Tracer | undefined;

  constructor(options: TelemetryOptions = {}) {
    this.metrics = new RepriseMetrics(options.registry);
    this.profiler = new Profiler();
    this.tracerProvider = options.tracerProvider;
  }

  /** Resolved on each use while on the global provider, so a host may start its SDK after creating reprise. */
  get tracer(): Tracer {
    if (this.tracerProvider) return (this.cachedTracer ??= this.tracerProvider.getTracer(TRACER_NAME, VERSION));
    return trace.getTracer(TRACER_NAME, VERSION);
  }

  /**
   * Runs `fn` inside a span named `name`: ends it, records an exception and sets ERROR status when `fn` throws,
   * and makes it the active span so spans started inside (across awaits) become its children.
   */
  async span<T>(name: string, fn: (span: Span) => Promise<T> | T, options: SpanOptions = {}): Promise<T> {
    const parent = options.root ? ROOT_CONTEXT : context.active();
    const span = this.tracer.startSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => fn(span));
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  }

  /** True when a sampled span is active: cheap operations only trace themselves inside a recorded trace. */
  get tracing(): boolean {
    return trace.getSpan(context.active())?.isRecording() === true;
  }
}
