/**
 * Tensors whose bytes stay in their external data file until something reads them. A model loaded
 * from a file with external data keeps its weights on disk: a pass reads one weight at a time and lets
 * it go, and onnxruntime is handed the file to read itself — so a model of gigabytes is never held
 * twice. The reading is done by whoever loaded the model (node/files.ts), so this file needs no file
 * system; a tensor's own `external_data` entries still say where its bytes are, as in the file.
 */
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataLocation, type GraphProto, type ModelProto, type TensorProto } from 'onnx-buf';
import { forEachTensor } from './walk.js';

export interface ExternalBytes {
  /** The folder the tensor's location is relative to: its model's. */
  folder: string;
  /** The data file (absolute) and the tensor's bytes in it. */
  file: string;
  offset: number;
  length: number;
  /** Reads the bytes (a fresh copy each call: callers let it go when done). */
  read(): Uint8Array;
}

const sources = new WeakMap<TensorProto, ExternalBytes>();

export function setExternal(t: TensorProto, bytes: ExternalBytes): void {
  sources.set(t, bytes);
}

/** Where a tensor's bytes are, when they are still in an external file. */
export function externalOf(t: TensorProto): ExternalBytes | undefined {
  return t.dataLocation === TensorProto_DataLocation.EXTERNAL ? sources.get(t) : undefined;
}

/** Reads every external tensor's bytes into the tensor itself, for a runtime that takes a model as one buffer. */
export function inlineExternal(graph: GraphProto): void {
  forEachTensor(graph, (t) => {
    const e = externalOf(t);
    if (!e) return;
    t.rawData = e.read() as typeof t.rawData;
    t.dataLocation = TensorProto_DataLocation.DEFAULT;
    t.externalData = [];
  });
}

/**
 * A deep copy of a model whose tensors still read their bytes from the external file where the
 * original's do: a plain protobuf clone makes new tensors this file knows nothing of, whose weights
 * would then read as empty.
 */
export function cloneModel(model: ModelProto): ModelProto {
  const copy = clone(ModelProtoSchema, model);
  if (!model.graph || !copy.graph) return copy;
  const originals: TensorProto[] = [];
  forEachTensor(model.graph, (t) => originals.push(t));
  let i = 0;
  forEachTensor(copy.graph, (t) => {
    const e = sources.get(originals[i++]!);
    if (e) sources.set(t, e);
  });
  return copy;
}
