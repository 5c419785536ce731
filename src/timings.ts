/**
 * Wall time per stage of a run, in milliseconds — what `--json` reports under `timings.stages`, so
 * that a user (and the scale benchmark) sees where the time of a run went.
 */
export type Stage = 'load' | 'prepare' | 'valueTypes' | 'plan' | 'calibration' | 'refine' | 'export' | 'validation' | 'save';

export type StageTimes = Partial<Record<Stage, number>>;

/** Runs `work`, adding its wall time to `times[stage]`. */
export async function timed<T>(times: StageTimes, stage: Stage, work: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    times[stage] = (times[stage] ?? 0) + performance.now() - start;
  }
}
