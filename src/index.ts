/**
 * onnxq's library API.
 *
 *   import { quantizeFile } from 'onnxq';
 *   await quantizeFile('model.onnx', 'model.int8.onnx', { calib: './calib', method: 'entropy' });
 *   await quantizeFileOffline('model.onnx', 'model.q4.onnx', { mode: 'weight-only', bits: 4 });
 *
 * Everything in 'onnxq/core' (models and samples in memory, no Node modules), plus the Node helpers
 * that read and write files: quantizeFile, quantizeFileOffline, qatFile, loadModelFile, saveModelFile, openCalibration.
 * Importing it gives the core onnxruntime-node (useRuntime() still switches to another;
 * `await useWasmRuntime()` to onnxruntime-web's WebAssembly, the studio's kernels and bytes).
 */
import './node/runtime.js';
export * from './core.js';
export { quantizeFile, type QuantizeFileOptions, type QuantizeFileResult } from './node/quantize-file.js';
export { quantizeFileOffline, type OfflineFileOptions, type OfflineFileResult } from './node/offline-file.js';
export { loadModelFile, saveModelFile } from './node/files.js';
export { analyzeFiles, type AnalyzeFileOptions } from './node/analyze-file.js';
export { qatFile, type QatFileOptions, type QatFileResult } from './node/qat-file.js';
export { openCalibration } from './data/open.js';
export { useWasmRuntime } from './node/wasm-runtime.js';
export type { ImageOptions } from './data/images.js';
