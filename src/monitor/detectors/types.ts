/** What one observed point produced. Internal contract shared by the detector implementations. */
export interface PointVerdict {
  readonly isAnomaly: boolean;
  /** In [0, 1], higher is more anomalous. */
  readonly score: number;
}

/** A streaming rule fed only finite values (the public wrapper filters the rest). */
export interface PointDetector {
  observe(value: number): PointVerdict;
  reset(): void;
}

export const QUIET: PointVerdict = Object.freeze({ isAnomaly: false, score: 0 });
