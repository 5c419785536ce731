/**
 * onnxruntime-web's WebAssembly kernels for the core in Node (`onnxq quantize --runtime wasm`): the
 * arithmetic the studio runs in a browser, so that the same model, data and options give the studio's
 * bytes. onnxruntime-node's native kernels (MLAS with AVX2 …) round sums differently in the last bits,
 * and static quantization's ranges carry those bits into the scales.
 *
 * The WebAssembly loads from the installed onnxruntime-web package, never from the network. Its CPU
 * kernels are the same in its Node build (ort-wasm-simd-threaded.wasm) as in the browser build the
 * studio loads (…jsep.wasm, which adds WebGPU): both made the same bytes for PaddleOCR cls here, and
 * the Node build ran 17× faster in Node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { fail } from '../errors.js';
import { formatBytes } from '../cli/format.js';
import { inlineExternal } from '../onnx/external.js';
import { MAX_MODEL_BYTES } from '../web/limits.js';
import { loadModelFile, readFileOrFail } from './files.js';
import { useRuntime } from '../runtime/ort.js';

/**
 * One thread unless told otherwise, as the studio runs (src/web/runtime.ts): results can change with
 * onnxruntime-web's thread count (PaddleOCR cls calibrated on 4 threads got other scales than on 1 or 2).
 */
const WASM_THREADS = 1;

/** Gives the core onnxruntime-web's WebAssembly backend; every later session uses it. */
export async function useWasmRuntime(threads = WASM_THREADS): Promise<void> {
  const ort = await import('onnxruntime-web');
  // Set before the first session: onnxruntime-web starts its WebAssembly (and its threads) once.
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = pathToFileURL(path.dirname(fileURLToPath(import.meta.resolve('onnxruntime-web'))) + path.sep).href;
  useRuntime({
    InferenceSession: {
      create: (model, options) => {
        if (model instanceof Uint8Array) checkSize(model.length);
        return ort.InferenceSession.create(typeof model === 'string' ? modelBytes(model) : model, { ...options, executionProviders: ['wasm'] });
      },
    },
    Tensor: ort.Tensor,
  });
}

/**
 * A model file as one buffer, its external data inside: onnxruntime-web's Node build cannot read a data
 * file beside a model ("Module.MountedFiles is not available"), onnxruntime-node's does.
 */
function modelBytes(file: string): Uint8Array {
  const { model, externalFiles } = loadModelFile(file);
  checkSize([file, ...externalFiles].reduce((n, f) => n + fs.statSync(f).size, 0));
  if (!externalFiles.length) return readFileOrFail(file, 'model');
  inlineExternal(model.graph!);
  return toBinary(ModelProtoSchema, model);
}

/** The studio's limit, for the same reason: WebAssembly memory stops at 4 GiB and holds the model more than once. */
function checkSize(bytes: number): void {
  if (bytes > MAX_MODEL_BYTES)
    fail('RUNTIME', `--runtime wasm runs models up to ${formatBytes(MAX_MODEL_BYTES)}, as the studio does (onnxruntime-web's WebAssembly memory stops at 4 GiB); this one is ${formatBytes(bytes)} with its weights. Use --runtime node.`);
}
