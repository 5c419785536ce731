/**
 * Which onnxruntime onnxq runs on. Node uses onnxruntime-node (loaded on first use); a browser build
 * calls `useRuntime(await import('onnxruntime-web'))` first. Only src/runtime/ touches onnxruntime.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';

export interface OrtModule {
  /** From bytes, or from a file path (URL in a browser), which onnxruntime reads with its external data. */
  InferenceSession: { create(model: Uint8Array | string, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: typeof Tensor;
}

let runtime: OrtModule | undefined;

export function useRuntime(ort: OrtModule): void {
  runtime = ort;
}

export async function getRuntime(): Promise<OrtModule> {
  if (!runtime) {
    const name = 'onnxruntime-node';
    runtime = (await import(name)) as unknown as OrtModule;
  }
  return runtime;
}
