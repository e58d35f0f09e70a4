/** GET /metrics for Prometheus: the text exposition of one prom-client registry. */
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';

export function metricsHandler(registry: Registry): RequestHandler {
  return (_req, res, next) => {
    registry.metrics().then((text) => {
      res.setHeader('Content-Type', registry.contentType);
      res.send(text);
    }, next);
  };
}
