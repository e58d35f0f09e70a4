/** An in-memory OpenTelemetry pipeline for tests: spans land in `exporter`, parents survive `await`. */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

let contextManagerInstalled = false;

export interface SpanRecorder {
  provider: BasicTracerProvider;
  exporter: InMemorySpanExporter;
  spans(): ReadableSpan[];
  named(name: string): ReadableSpan[];
  /** Runs `fn` inside a recorded span of the test's own, as a host's request handler would be. */
  inRequest<T>(fn: () => Promise<T>): Promise<{ result: T; requestSpanId: string; traceId: string }>;
}

export function recordSpans(): SpanRecorder {
  if (!contextManagerInstalled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerInstalled = true;
  }
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const hostTracer = provider.getTracer('host-app');
  return {
    provider,
    exporter,
    spans: () => exporter.getFinishedSpans(),
    named: (name) => exporter.getFinishedSpans().filter((span) => span.name === name),
    async inRequest(fn) {
      const span = hostTracer.startSpan('host.request');
      try {
        const result = await context.with(trace.setSpan(context.active(), span), fn);
        return { result, requestSpanId: span.spanContext().spanId, traceId: span.spanContext().traceId };
      } finally {
        span.end();
      }
    },
  };
}
