/**
 * A model's bytes for onnxruntime to load: the same model as encodeModel writes, not the same bytes.
 *
 * @bufbuild/protobuf's writer copies a large payload several times (its buffer doubles as it grows, and
 * every enclosing message whose length outgrows the prefix it reserved is shifted): about 3 ns a byte,
 * 0.2 s for a 75 MB model, paid again for every session onnxq opens. Here the raw bytes of each large
 * initializer are copied once. The model is encoded without those initializers, and they follow as a
 * second `graph` field of the ModelProto that holds only them: a protobuf parser merges a message field
 * that occurs twice, appending the repeated fields of the second occurrence to the first's (Protocol
 * Buffers encoding guide, "Last One Wins": embedded messages are merged). Inside each such tensor,
 * raw_data comes after the other fields, which protobuf allows in any order.
 */
import { clearField, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProtoSchema, type ModelProto, type TensorProto } from 'onnx-buf';
import { externalOf } from './external.js';

/** Initializers from this many bytes on are spliced in rather than encoded by the writer. */
const SPLICE_FROM = 4096;

/** Field numbers in onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data. */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;

export function sessionBytes(model: ModelProto): Uint8Array {
  const graph = model.graph!;
  const spliced = new Set(graph.initializer.filter((t) => !externalOf(t) && t.rawData.length >= SPLICE_FROM));
  if (spliced.size === 0) return toBinary(ModelProtoSchema, model);
  const all = graph.initializer;
  graph.initializer = all.filter((t) => !spliced.has(t));
  let head: Uint8Array;
  try {
    head = toBinary(ModelProtoSchema, model);
  } finally {
    graph.initializer = all;
  }
  const pieces: Uint8Array[] = [];
  let graphLength = 0;
  for (const t of spliced) {
    const header = withoutRawData(t);
    const rawKey = fieldKey(TENSOR_RAW_DATA, t.rawData.length);
    const tensorLength = header.length + rawKey.length + t.rawData.length;
    const tensorKey = fieldKey(GRAPH_INITIALIZER, tensorLength);
    pieces.push(tensorKey, header, rawKey, t.rawData);
    graphLength += tensorKey.length + tensorLength;
  }
  const graphKey = fieldKey(MODEL_GRAPH, graphLength);
  const out = new Uint8Array(head.length + graphKey.length + graphLength);
  let at = 0;
  for (const piece of [head, graphKey, ...pieces]) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** The tensor's encoding without its raw_data field (the tensor is left as it was). */
function withoutRawData(t: TensorProto): Uint8Array {
  const raw = t.rawData;
  clearField(t, TensorProtoSchema.field.rawData);
  try {
    return toBinary(TensorProtoSchema, t);
  } finally {
    t.rawData = raw;
  }
}

/** The key of a length-delimited field (field number, wire type 2) followed by its length, as varints. */
function fieldKey(field: number, length: number): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(length)]);
}

/** A non-negative integer as a protobuf varint: 7 bits a byte, low first, the top bit marking "more". */
export function varint(v: number): number[] {
  const bytes: number[] = [];
  for (; v >= 128; v = Math.floor(v / 128)) bytes.push((v % 128) | 128);
  bytes.push(v);
  return bytes;
}
