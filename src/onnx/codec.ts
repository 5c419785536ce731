/**
 * ModelProto ⇄ bytes, with external data. We use onnx-buf (onnx 1.20's onnx.proto compiled with
 * @bufbuild/protobuf): it keeps unknown fields, so a decode/encode round trip is byte for byte.
 * External data is read through an injected reader, so this file needs no file system.
 */
import { clearField, create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  type ModelProto,
  type TensorProto,
} from 'onnx-buf';
import { fail } from '../errors.js';
import { forEachTensor } from './walk.js';

/** Reads `length` bytes (all to the end when undefined) at `offset` of an external data file. */
export type ExternalReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

/** Protobuf cannot encode a message of 2 GiB or more; stay clear of it. */
export const PROTOBUF_LIMIT = 2 ** 31 - 2 ** 24;

export function decodeModel(bytes: Uint8Array, source: string, readExternal?: ExternalReader): ModelProto {
  let model: ModelProto;
  try {
    model = fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    const truncated = /premature|EOF|out of range|index out of/i.test(String((e as Error)?.message));
    fail(
      'BAD_MODEL',
      `${source} is ${truncated ? 'a truncated or damaged' : 'not an'} ONNX file (${(e as Error).message}). ` +
        'Check that the file was copied completely and is a .onnx model, not a checkpoint or archive.',
      e,
    );
  }
  if (!model.graph || model.opsetImport.length === 0 || model.irVersion <= 0n || model.graph.node.length === 0)
    fail(
      'BAD_MODEL',
      `${source} is not an ONNX model: it has ${model.graph ? 'no nodes or no opset import' : 'no graph'}. ` +
        'Check that the file is an exported .onnx model.',
    );
  resolveExternalData(model, source, readExternal);
  return model;
}

function entries(t: TensorProto): Map<string, string> {
  return new Map(t.externalData.map((e) => [e.key, e.value]));
}

/** A location must stay inside the model's folder: absolute paths and `..` escapes are an attack. */
export function checkExternalLocation(location: string, source: string, tensor: string): void {
  const parts = location.split(/[\\/]+/);
  let depth = 0;
  const escapes = parts.some((p) => {
    if (p === '..') depth--;
    else if (p !== '.' && p !== '') depth++;
    return depth < 0;
  });
  if (location === '' || /^([\\/]|[A-Za-z]:)/.test(location) || escapes)
    fail(
      'EXTERNAL_DATA',
      `${source}: tensor '${tensor}' points its external data at '${location}', which is ${location === '' ? 'empty' : 'outside the model\'s folder'}. ` +
        'onnxq only reads external data files next to the model (a relative path without ..); move the data file there and fix the location.',
    );
}

function resolveExternalData(model: ModelProto, source: string, readExternal?: ExternalReader): void {
  forEachTensor(model.graph!, (t) => {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) return;
    const e = entries(t);
    const location = e.get('location') ?? '';
    checkExternalLocation(location, source, t.name);
    if (!readExternal)
      fail('EXTERNAL_DATA', `${source}: tensor '${t.name}' keeps its data in '${location}'; load the model from a file path so onnxq can read it.`);
    const offset = Number(e.get('offset') ?? 0);
    const length = e.has('length') ? Number(e.get('length')) : undefined;
    t.rawData = readExternal(location, offset, length) as Uint8Array<ArrayBuffer>;
    t.externalData = [];
    clearField(t, TensorProtoSchema.field.dataLocation);
  });
}

export interface EncodeOptions {
  /** Store tensors of at least `threshold` bytes in a data file with this name (next to the model). */
  externalData?: { location: string; threshold?: number };
}

export interface EncodedModel {
  model: Uint8Array;
  /** Chunks of the external data file, in order; empty when all data is inline. */
  data: Uint8Array[];
}

/** Sum of tensor payloads, to decide whether a model needs external data. */
export function tensorPayloadBytes(model: ModelProto): number {
  let total = 0;
  forEachTensor(model.graph!, (t) => (total += t.rawData.length));
  return total;
}

/**
 * Encodes a model. With `externalData`, large tensors are written to a separate file; the model in
 * memory is left as it was.
 */
export function encodeModel(model: ModelProto, options: EncodeOptions = {}): EncodedModel {
  if (!options.externalData) {
    if (tensorPayloadBytes(model) >= PROTOBUF_LIMIT)
      fail('BAD_OPTION', 'the model is larger than 2 GiB, which protobuf cannot store in one file; save it with external data.');
    return { model: toBinary(ModelProtoSchema, model), data: [] };
  }
  const { location, threshold = 1024 } = options.externalData;
  const moved: { t: TensorProto; raw: Uint8Array<ArrayBuffer> }[] = [];
  const data: Uint8Array[] = [];
  let offset = 0;
  forEachTensor(model.graph!, (t) => {
    if (t.rawData.length < threshold) return;
    moved.push({ t, raw: t.rawData });
    data.push(t.rawData);
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: location }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(t.rawData.length) }),
    ];
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    offset += t.rawData.length;
    t.rawData = new Uint8Array(0);
  });
  try {
    return { model: toBinary(ModelProtoSchema, model), data };
  } finally {
    for (const { t, raw } of moved) {
      t.rawData = raw;
      t.externalData = [];
      clearField(t, TensorProtoSchema.field.dataLocation);
    }
  }
}
