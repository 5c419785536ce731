/**
 * ModelProto ⇄ bytes, with external data. We use onnx-buf (onnx 1.20's onnx.proto compiled with
 * @bufbuild/protobuf): it keeps unknown fields, so a decode/encode round trip is byte for byte.
 * External data is located through an injected locator, so this file needs no file system.
 */
import { clearField, create, fromBinary, isFieldSet, toBinary } from '@bufbuild/protobuf';
import {
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  type ModelProto,
  type TensorProto,
} from 'onnx-buf';
import { fail } from '../errors.js';
import { dtypeBits, dtypeName } from './dtype.js';
import { externalOf, setExternal, type ExternalBytes } from './external.js';
import { numel } from './tensor.js';
import { forEachTensor } from './walk.js';

/**
 * Where the bytes of a tensor kept in an external data file are, given its `location` (checked to stay
 * in the model's folder), offset and length (the rest of the file when undefined). Injected by the
 * loader (node/files.ts); the bytes themselves are read only when something needs them.
 */
export type ExternalLocator = (location: string, offset: number, length: number | undefined, tensor: string) => ExternalBytes;

/** Protobuf cannot encode a message of 2 GiB or more; stay clear of it. */
export const PROTOBUF_LIMIT = 2 ** 31 - 2 ** 24;

export function decodeModel(bytes: Uint8Array, source: string, locate?: ExternalLocator): ModelProto {
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
  resolveExternalData(model, source, locate);
  return model;
}

function entries(t: TensorProto): Map<string, string> {
  return new Map(t.externalData.map((e) => [e.key, e.value]));
}

/**
 * A location must stay inside the model's folder: absolute paths are an attack, and so is any '..',
 * even one that stays inside as text (through a linked folder it need not). The loader then checks
 * the real path (node/files.ts).
 */
export function checkExternalLocation(location: string, source: string, tensor: string): void {
  const parts = location.split(/[\\/]+/);
  if (location === '' || /^([\\/]|[A-Za-z]:)/.test(location) || parts.includes('..'))
    fail(
      'EXTERNAL_DATA',
      `${source}: tensor '${tensor}' points its external data at '${location}', which is ${location === '' ? 'empty' : 'outside the model\'s folder, or reaches it through \'..\''}. ` +
        'onnxq only reads external data files next to the model (a relative path without ..); move the data file there and fix the location.',
    );
}

function resolveExternalData(model: ModelProto, source: string, locate?: ExternalLocator): void {
  forEachTensor(model.graph!, (t) => {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) return;
    const e = entries(t);
    const location = e.get('location') ?? '';
    checkExternalLocation(location, source, t.name);
    if (!locate)
      fail('EXTERNAL_DATA', `${source}: tensor '${t.name}' keeps its data in '${location}'; load the model from a file path so onnxq can read it.`);
    const offset = byteCount(e.get('offset') ?? '0', 'offset', source, t.name);
    const length = e.has('length') ? byteCount(e.get('length')!, 'length', source, t.name) : undefined;
    const bytes = locate(location, offset, length, t.name);
    const bits = dtypeBits(t.dataType);
    const dims = t.dims.map(Number);
    const want = Math.ceil((numel(dims) * bits) / 8);
    if (bits && dims.every((d) => Number.isSafeInteger(d) && d >= 0) && bytes.length !== want)
      fail(
        'EXTERNAL_DATA',
        `${source}: tensor '${t.name}' (${dtypeName(t.dataType)} [${dims.join(', ')}]) takes ${want} bytes, but its external data in '${location}' gives ${bytes.length}. ` +
          'The data file is truncated or belongs to another model; export the model again.',
      );
    setExternal(t, bytes);
  });
}

/** An external-data offset or length: decimal digits that make a safe integer. */
function byteCount(text: string, field: string, source: string, tensor: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    fail('EXTERNAL_DATA', `${source}: tensor '${tensor}' gives its external data ${field} as '${text}', which is not a whole number of bytes. The model file is damaged; export it again.`);
  return n;
}

export interface EncodeOptions {
  /**
   * Store tensors of at least `threshold` bytes in a data file with this name (next to the model).
   * `keepExternal`: tensors still in an external file keep pointing at it (the model is written in
   * that file's folder), rather than being copied over.
   */
  externalData?: { location: string; threshold?: number; keepExternal?: boolean };
}

/** Bytes of an external data file: ready, or read when written (a tensor still in its own file), one at a time. */
export type DataChunk = Uint8Array | (() => Uint8Array);

export interface EncodedModel {
  model: Uint8Array;
  /** Chunks of the external data file, in order; empty when all data is inline. */
  data: DataChunk[];
}

/** Sum of tensor payloads, to decide whether a model needs external data. */
export function tensorPayloadBytes(model: ModelProto): number {
  let total = 0;
  forEachTensor(model.graph!, (t) => (total += externalOf(t)?.length ?? t.rawData.length));
  return total;
}

/**
 * Encodes a model. With `externalData`, large tensors (and every tensor still in an external file) go
 * to a separate file; without, tensors still in external files are read in for the encoding. The model
 * in memory is left as it was.
 */
export function encodeModel(model: ModelProto, options: EncodeOptions = {}): EncodedModel {
  // Tensors get other bytes or another place for the encoding, and their own back after it. data_location
  // is optional in onnx.proto: "not set" and "set to DEFAULT" encode differently, so presence is kept too.
  const swapped: { t: TensorProto; rawData: Uint8Array<ArrayBuffer>; externalData: TensorProto['externalData']; location?: TensorProto_DataLocation }[] = [];
  const swap = (t: TensorProto, rawData: Uint8Array<ArrayBuffer>, externalData: TensorProto['externalData'], external: boolean) => {
    swapped.push({ t, rawData: t.rawData, externalData: t.externalData, ...(isFieldSet(t, TensorProtoSchema.field.dataLocation) ? { location: t.dataLocation } : {}) });
    Object.assign(t, { rawData, externalData });
    if (external) t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    else clearField(t, TensorProtoSchema.field.dataLocation);
  };
  const data: DataChunk[] = [];
  try {
    if (!options.externalData) {
      if (tensorPayloadBytes(model) >= PROTOBUF_LIMIT)
        fail('BAD_OPTION', 'the model is larger than 2 GiB, which protobuf cannot store in one file; save it with external data.');
      forEachTensor(model.graph!, (t) => {
        const external = externalOf(t);
        if (external) swap(t, external.read() as Uint8Array<ArrayBuffer>, [], false);
      });
      return { model: toBinary(ModelProtoSchema, model), data };
    }
    const { location, threshold = 1024 } = options.externalData;
    let offset = 0;
    forEachTensor(model.graph!, (t) => {
      const external = externalOf(t);
      if (external && options.externalData!.keepExternal) return;
      const length = external?.length ?? t.rawData.length;
      if (!external && length < threshold) return;
      data.push(external ? () => external.read() : t.rawData);
      const entries = [
        create(StringStringEntryProtoSchema, { key: 'location', value: location }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(length) }),
      ];
      swap(t, new Uint8Array(0), entries, true);
      offset += length;
    });
    return { model: toBinary(ModelProtoSchema, model), data };
  } finally {
    for (const { t, rawData, externalData, location } of swapped) {
      Object.assign(t, { rawData, externalData });
      if (location === undefined) clearField(t, TensorProtoSchema.field.dataLocation);
      else t.dataLocation = location;
    }
  }
}
