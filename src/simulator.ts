/**
 * reprise/simulator: a local stand-in for the ReccoBeats web API (a deterministic, synthetic catalog, injected latency,
 * 429/5xx and hangs, request counters) for tests, demos and benchmarks. It labels itself a simulator in every answer.
 */
import type { SimulatedCatalog as SimulatedCatalogClass } from './reccobeats/simulator/catalog.js';
import type { RequestCounters as RequestCountersClass } from './reccobeats/simulator/counters.js';

export {
  startReccobeatsSimulator,
  type Latency,
  type ReccobeatsSimulator,
  type ReccobeatsSimulatorOptions,
} from './reccobeats/simulator/server.js';
export { spotifyTrackIds } from './reccobeats/simulator/deterministic.js';
export { SIMULATOR_NOTICE, type SimulatorEndpoint, type SimulatorQuirks } from './reccobeats/simulator/routes.js';
export type { SimulatedCatalogOptions } from './reccobeats/simulator/catalog.js';
export type { FailNextOptions } from './reccobeats/simulator/faults.js';

/** The simulator's catalog and request counters (`simulator.catalog`, `simulator.requests`), as types only. */
export type SimulatedCatalog = SimulatedCatalogClass;
export type RequestCounters = RequestCountersClass;
