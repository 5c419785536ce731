/**
 * onnxq's library API.
 *
 *   import { quantizeFile } from 'onnxq';
 *   await quantizeFile('model.onnx', 'model.int8.onnx', { calib: './calib', method: 'entropy' });
 *
 * The core (quantize, inspectModel, plans, observers) takes models and samples in memory and runs
 * in the browser too; the Node helpers (quantizeFile, loadModelFile, openCalibration) add files.
 */
export { quantize, calibrate, quantizeCalibrated, modelInputs, type QuantizeOptions, type QuantizeResult, type CalibrateOptions, type Calibration } from './quantize.js';
export { quantizeFile, type QuantizeFileOptions, type QuantizeFileResult } from './node/quantize-file.js';
export { loadModelFile, saveModelFile } from './node/files.js';
export { decodeModel, encodeModel } from './onnx/codec.js';
export { inspectModel, type InspectReport } from './analyze/inspect.js';
export { compareModels, type ValidationReport, type OutputComparison } from './analyze/validate.js';
export { sqnr, cosine } from './analyze/metrics.js';
export { openCalibration } from './data/open.js';
export { memorySource } from './data/memory.js';
export type { CalibrationSource, Sample, HostTensor, ModelInput } from './data/source.js';
export type { ImageOptions } from './data/images.js';
export { buildPlan, type PlanOptions } from './plan/build.js';
export type { QuantPlan, ActivationEntry, WeightEntry, TargetName } from './plan/plan.js';
export { prepareModel } from './passes/prepare.js';
export { useRuntime } from './runtime/ort.js';
export { OnnxqError, type ErrorCode } from './errors.js';
export type { QuantSpec, QuantType } from './quant/spec.js';
export type { RangeMethodName } from './calibrate/observer.js';
export { VERSION } from './version.js';
