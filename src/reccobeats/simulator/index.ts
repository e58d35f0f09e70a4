/** The ReccoBeats simulator: a local stand-in for the ReccoBeats web API with a deterministic, synthetic catalog. */
export { startReccobeatsSimulator, type Latency, type ReccobeatsSimulator, type ReccobeatsSimulatorOptions } from './server.js';
export { SimulatedCatalog, type SimulatedCatalogOptions } from './catalog.js';
export { RequestCounters } from './counters.js';
export type { FailNextOptions } from './faults.js';
export { SIMULATOR_NOTICE, type SimulatorEndpoint, type SimulatorQuirks } from './routes.js';
export { spotifyTrackIds } from './deterministic.js';
