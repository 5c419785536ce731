/**
 * onnxq in a browser ('onnxq/web'): the core (src/core.ts) on onnxruntime-web, and the files a page
 * has — a picked model with its external data, picked calibration files — turned into what it takes.
 *
 *   import { loadModel, openCalibrationFiles, modelInputs, quantize, encodeModel } from 'onnxq/web';
 *   const model = await loadModel(modelFile);
 *   const data = await openCalibrationFiles([...calibInput.files], modelInputs(model));
 *   const { model: q } = await quantize(model, data, { method: 'minmax' });
 *   const bytes = encodeModel(q).model;
 *
 * Importing it gives the core onnxruntime-web on WebAssembly; useWebRuntime() switches to WebGPU or
 * points at the .wasm files elsewhere.
 */
import './runtime.js';
export * from '../core.js';
export { useWebRuntime, type WebBackend, type WebRuntimeOptions } from './runtime.js';
export { loadModel, openCalibrationFiles } from './files.js';
export { MAX_MODEL_BYTES, checkModelSize } from './limits.js';
export { calibrationCacheFor } from '../export/trt-cache.js';
export type { ImageOptions } from '../data/pixels.js';
