/**
 * Which onnxruntime onnxq runs on: the one given to useRuntime(). The core names no onnxruntime
 * package, so that a browser bundle of it pulls in no Node binary: a browser build calls
 * `useRuntime(await import('onnxruntime-web'))` first, and the `onnxq` entry (Node) gives it
 * onnxruntime-node when it is imported (src/node/runtime.ts). Only src/runtime/ touches onnxruntime.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { fail } from '../errors.js';

export interface OrtModule {
  /** From bytes, or from a file path (URL in a browser), which onnxruntime reads with its external data. */
  InferenceSession: { create(model: Uint8Array | string, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: typeof Tensor;
}

let runtime: OrtModule | undefined;

/** Sets the onnxruntime every later session is created with (the last call wins). */
export function useRuntime(ort: OrtModule): void {
  runtime = ort;
}

export function getRuntime(): OrtModule {
  if (!runtime) {
    fail(
      'RUNTIME',
      "onnxq has no onnxruntime to run models with: 'onnxq/core' loads none itself. In a browser, call " +
        "useRuntime(await import('onnxruntime-web')) before quantizing; in Node, import from 'onnxq' rather than 'onnxq/core': it gives onnxq Node's onnxruntime.",
    );
  }
  return runtime;
}
