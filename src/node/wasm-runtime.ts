/**
 * onnxruntime-web's WebAssembly kernels for the core in Node (`onnxq quantize --runtime wasm`): the
 * arithmetic the studio runs in a browser, so that the same model, data and options give the studio's
 * bytes. onnxruntime-node's native kernels (MLAS with AVX2 …) round sums differently in the last bits,
 * and static quantization's ranges carry those bits into the scales.
 *
 * The WebAssembly loads from the installed onnxruntime-web package, never from the network. Its CPU
 * kernels are the same in its Node build (ort-wasm-simd-threaded.wasm) as in the browser build the
 * studio loads (…jsep.wasm, which adds WebGPU): both made the same bytes for PaddleOCR cls here.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataLocation } from 'onnx-buf';
import { forEachTensor } from '../onnx/walk.js';
import { useRuntime } from '../runtime/ort.js';
import { readFileOrFail } from './files.js';

/**
 * One thread unless told otherwise, as the studio runs (src/web/runtime.ts): results can change with
 * onnxruntime-web's thread count (PaddleOCR cls calibrated on 4 threads got other scales than on 1 or 2).
 */
export const WASM_THREADS = 1;

/** Gives the core onnxruntime-web's WebAssembly backend; every later session uses it. */
export async function useWasmRuntime(threads = WASM_THREADS): Promise<void> {
  const ort = await import('onnxruntime-web');
  // Set before the first session: onnxruntime-web starts its WebAssembly (and its threads) once.
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = pathToFileURL(path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-web'))) + path.sep).href;
  useRuntime({
    InferenceSession: {
      create: (model, options) => ort.InferenceSession.create(model as string, { ...options, executionProviders: ['wasm'], ...(typeof model === 'string' ? { externalData: externalDataOf(model) } : {}) }),
    },
    Tensor: ort.Tensor,
  });
}

/**
 * onnxruntime-web reads a model file but not the external data files it names (onnxruntime-node does):
 * they are listed for it, each at its path beside the model.
 */
function externalDataOf(file: string): { path: string; data: string }[] {
  const model = fromBinary(ModelProtoSchema, readFileOrFail(file, 'model'));
  const locations = new Set<string>();
  if (model.graph)
    forEachTensor(model.graph, (t) => {
      const location = t.dataLocation === TensorProto_DataLocation.EXTERNAL ? t.externalData.find((e) => e.key === 'location')?.value : undefined;
      if (location) locations.add(location);
    });
  return [...locations].map((location) => ({ path: location, data: path.join(path.dirname(file), location) }));
}
