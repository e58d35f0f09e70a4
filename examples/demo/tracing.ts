/**
 * Optional OTLP trace export for the demo: when OTEL_EXPORTER_OTLP_ENDPOINT is set, the OpenTelemetry Node SDK starts
 * before the app is imported, with the HTTP, Express and ioredis instrumentations, so reprise's cache, registry,
 * ReccoBeats and warm spans appear inside the request traces next to the Redis commands.
 * reprise itself depends on @opentelemetry/api only; the SDK is the host's choice (here a dev dependency).
 */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<(() => Promise<void>) | null> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return null;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
  const { IORedisInstrumentation } = await import('@opentelemetry/instrumentation-ioredis');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? 'reprise-demo',
    // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT itself and posts to <endpoint>/v1/traces.
    traceExporter: new OTLPTraceExporter(),
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), new IORedisInstrumentation()],
  });
  sdk.start();
  return () => sdk.shutdown();
}
