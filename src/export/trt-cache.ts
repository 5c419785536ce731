/**
 * TensorRT calibration cache (NVIDIA/TensorRT samples/sampleINT8/README.md): a header line
 * `TRT-<version>-<Algorithm>`, then `<tensor>: <hex>` per tensor where <hex> is the float32 bit
 * pattern of the step amax/127, as 8 lowercase hex digits.
 */
import { fail } from '../errors.js';
import { RANGE_METHODS } from '../calibrate/methods.js';
import type { RangeMethodName, RangeMethodOptions, TensorStats } from '../calibrate/observer.js';

/** TensorRT 8.6.1 writes version 8601 (10.x writes e.g. 100300 for 10.3.0); override with --trt-version. */
export const DEFAULT_TRT_VERSION = '8601';

/** TensorRT's calibrator that a method corresponds to, and whether the match is exact. */
function trtAlgorithm(method: RangeMethodName): { algorithm: string; exact: boolean } {
  if (method === 'entropy') return { algorithm: 'EntropyCalibration2', exact: true };
  if (method === 'minmax') return { algorithm: 'MinMaxCalibration', exact: true };
  // TensorRT has no percentile/MSE/ADMM calibrator; the cache holds our ranges under the closest name.
  return { algorithm: method === 'percentile' || method === 'mse' ? 'EntropyCalibration2' : 'MinMaxCalibration', exact: false };
}

/**
 * Each tensor's symmetric int8 clip threshold by the method: what TensorRT calls amax. Tensors whose
 * statistics are not finite (never reached, or overflowing) are left out.
 */
export function tensorrtAmax(tensors: readonly string[], stats: ReadonlyMap<string, TensorStats>, method: RangeMethodName, options: RangeMethodOptions): Map<string, number> {
  const amax = new Map<string, number>();
  for (const name of tensors) {
    const s = stats.get(name);
    if (!s || !Number.isFinite(s.min) || !Number.isFinite(s.max)) continue;
    const r = RANGE_METHODS[method].range(s, { dtype: 'int8', symmetric: true }, options);
    amax.set(name, Math.max(Math.abs(r.min), Math.abs(r.max)));
  }
  return amax;
}

export function float32Hex(v: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, v);
  return view.getUint32(0).toString(16).padStart(8, '0');
}

/** The cache's text; `amax` maps each tensor (named as in the float model) to its clip threshold. */
function trtCalibrationCache(amax: ReadonlyMap<string, number>, algorithm: string, version = DEFAULT_TRT_VERSION): string {
  const lines = [`TRT-${version}-${algorithm}`];
  for (const [name, a] of amax) {
    // One line per tensor, "name: hex": a name that could end a line or fake the separator would forge entries.
    if (/[\r\n]|: /.test(name)) fail('BAD_MODEL', `tensor '${name}' cannot be named in a TensorRT calibration cache (it holds a line break or ": "); rename it in the model.`);
    lines.push(`${name}: ${float32Hex(a / 127)}`);
  }
  return lines.join('\n') + '\n';
}

/** The cache for a method's ranges, and a note where TensorRT has no calibrator of that name. */
export function calibrationCacheFor(amax: ReadonlyMap<string, number>, method: RangeMethodName, version = DEFAULT_TRT_VERSION): { text: string; note?: string } {
  const { algorithm, exact } = trtAlgorithm(method);
  const text = trtCalibrationCache(amax, algorithm, version);
  return exact ? { text } : { text, note: `TensorRT has no ${method} calibrator: the cache carries onnxq's ${method} ranges under the name ${algorithm}.` };
}
