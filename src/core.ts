/**
 * onnxq's core: everything that works on models and samples in memory, with no Node module and no
 * particular onnxruntime package imported. In a browser, call useRuntime(await import('onnxruntime-web'))
 * first. `onnxq` (index.ts) gives it onnxruntime-node and adds the file-based helpers.
 */
export {
  quantize,
  calibrate,
  quantizeCalibrated,
  type QuantizeOptions,
  type QuantizeResult,
  type CalibrateOptions,
  type Calibration,
} from './quantize.js';
export { modelInputs } from './data/inputs.js';
export { quantizeOffline, type OfflineOptions, type OfflineResult, type OfflineMode } from './offline.js';
export { qat, type QatOptions, type QatResult, type QatOptimizer, type TrainingReport } from './qat.js';
export type { OfflineReport } from './export/dynamic.js';
export type { WeightOnlyReport, WeightOnlyFormat, WeightOnlyMethod } from './export/weight-only.js';
export { DEFAULT_FP16_BLOCK_LIST, type Float16Report } from './export/fp16.js';
export { syntheticSource } from './data/synthetic.js';
export { decodeModel, encodeModel } from './onnx/codec.js';
export { inspectModel, type InspectReport } from './analyze/inspect.js';
export { compareModels, type ValidationReport, type OutputComparison } from './analyze/validate.js';
export { sqnr, cosine, errorMetrics, ErrorAccumulator, type ErrorMetrics } from './analyze/metrics.js';
export { analyzeModels, type AnalyzeOptions } from './analyze/analyze.js';
export { renderReport } from './analyze/html.js';
export { reportJson, type AnalysisReport, type TensorError, type LayerSensitivity, type WeightRanges, type ActivationHistogram, type MixedPrecisionReport } from './analyze/report.js';
export type { Budget } from './refine/mixed-precision.js';
export type { AdaRoundOptions, AdaRoundReport, AdaRoundUnit, Reconstruct } from './refine/adaround.js';
export { memorySource } from './data/memory.js';
export type { CalibrationSource, Sample, HostTensor, ModelInput } from './data/source.js';
export { buildPlan, type PlanOptions } from './plan/build.js';
export { parsePlan, checkPlan } from './plan/json.js';
export type { QuantPlan, ActivationEntry, WeightEntry, TargetName } from './plan/plan.js';
export { prepareModel } from './passes/prepare.js';
export { useRuntime } from './runtime/ort.js';
export { OnnxqError, type ErrorCode } from './errors.js';
export type { QuantSpec, QuantType } from './quant/spec.js';
export type { RangeMethodName } from './calibrate/observer.js';
export { VERSION } from './version.js';
