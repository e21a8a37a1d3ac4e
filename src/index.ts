export { createAnomalyDetector } from './monitor/anomaly-detector.js';
export type { AnomalyDetector, AnomalyDetectorOptions, AnomalyObservation } from './monitor/anomaly-detector.js';
