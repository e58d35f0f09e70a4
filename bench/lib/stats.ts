/** Order statistics over a handful of samples: medians and spreads, never means (one noisy round must not move them). */

export interface Summary {
  samples: number;
  median: number;
  min: number;
  max: number;
  p25: number;
  p75: number;
  /** Interquartile range as a share of the median (0.05 = 5 %). */
  iqrShare: number;
}

/** Linear interpolation between the closest ranks; `q` in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below]!;
  const high = sorted[above]!;
  return low + (high - low) * (position - below);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const p25 = quantile(sorted, 0.25);
  const p75 = quantile(sorted, 0.75);
  return {
    samples: sorted.length,
    median,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    p25,
    p75,
    iqrShare: median > 0 ? (p75 - p25) / median : Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}
