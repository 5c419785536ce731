/**
 * Calibration: observers that fold a tensor's values in batch by batch with fixed memory and merge
 * (min/max, moving averages, a histogram over a fixed or growing range, a reservoir sample), and the range methods that turn
 * their statistics into clip ranges (minmax, moving-average, percentile, entropy, mse, admm).
 * The calibration loop that runs the model and feeds the observers lives in collect.ts (it needs onnxruntime).
 */
export * from './observer.js';
export * from './minmax.js';
export * from './moving-average.js';
export * from './histogram.js';
export * from './sample.js';
export * from './percentile.js';
export * from './entropy.js';
export * from './mse.js';
export * from './admm.js';
export * from './search.js';
export * from './methods.js';
