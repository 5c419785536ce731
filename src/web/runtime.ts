/**
 * onnxruntime-web for the core: WebAssembly by default (the CPU kernels, with the same results on every
 * machine), WebGPU where the page asks for it and the browser has it. Importing this module gives the
 * core onnxruntime-web, as src/node/runtime.ts gives it onnxruntime-node.
 *
 * onnxruntime-web loads its WebAssembly (ort-wasm-simd-threaded.jsep.wasm and its .mjs loader) at run
 * time; `npm run build` puts them next to dist/browser/onnxq.js, where wasmPaths points by default.
 */
import * as ort from 'onnxruntime-web';
import { useRuntime, type OrtModule } from '../runtime/ort.js';

export type WebBackend = 'wasm' | 'webgpu';

export interface WebRuntimeOptions {
  /** 'wasm' (default) or 'webgpu'; WebGPU needs navigator.gpu, and results differ from the CPU's in the last bits. */
  backend?: WebBackend;
  /** The folder (URL ending in '/') that serves onnxruntime-web's .wasm and .mjs files; default: this bundle's own folder. */
  wasmPaths?: string;
  /**
   * WebAssembly threads (more need a cross-origin-isolated page; onnxruntime-web falls back to one
   * otherwise). Default 1, not onnxruntime-web's half the cores: results can change with the thread count
   * (PaddleOCR cls calibrated on 4 threads got other scales than on 1 or 2), so one thread gives the same
   * model on every machine, and the one `onnxq quantize --runtime wasm` writes.
   */
  threads?: number;
}

/** Gives the core onnxruntime-web with these options; every later session uses them. */
export function useWebRuntime(options: WebRuntimeOptions = {}): void {
  ort.env.wasm.wasmPaths = options.wasmPaths ?? new URL('./', import.meta.url).href;
  ort.env.wasm.numThreads = options.threads ?? 1;
  const executionProviders = [options.backend ?? 'wasm'];
  const runtime: OrtModule = {
    InferenceSession: { create: (model, sessionOptions) => ort.InferenceSession.create(model as Uint8Array, { ...sessionOptions, executionProviders }) },
    Tensor: ort.Tensor,
  };
  useRuntime(runtime);
}

useWebRuntime();
