/**
 * Calibration sources: where the samples that are run through the float model come from.
 * A source knows how many samples it has and loads one at a time, so calibration memory does not
 * grow with the number of samples.
 */
import type { TypedArray } from '../onnx/dtype.js';
import type { Dim } from '../ir/types.js';

/** A tensor ready to feed to onnxruntime. `dtype` uses onnxruntime's names ('float32', 'int64', …). */
export interface HostTensor {
  dtype: string;
  dims: number[];
  data: TypedArray;
}

/** One sample: a tensor per model input, each with a leading batch dimension of 1 where the model has one. */
export type Sample = Record<string, HostTensor>;

/** What a source must fit: the model's (non-initializer) inputs. */
export interface ModelInput {
  name: string;
  /** onnxruntime dtype name, e.g. 'float32'. */
  dtype: string;
  /** Dims after --input-shape overrides; null or a string where the model leaves a dimension free. */
  shape: Dim[];
}

export interface CalibrationSource {
  /** A description for messages, e.g. the folder or file name. */
  readonly description: string;
  readonly count: number;
  /**
   * Things the user should hear about, which are not errors: skipped files, arrays matched by
   * position. The CLI prints them once before calibration.
   */
  readonly notes?: readonly string[];
  /** Loads sample `index` (0 ≤ index < count). */
  load(index: number): Promise<Sample>;
}
