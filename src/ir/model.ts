/** Model-level facts: opset versions per domain, IR version, metadata. */
import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema, StringStringEntryProtoSchema, type ModelProto } from 'onnx-buf';
import { VERSION } from '../version.js';

/** The default ONNX domain is spelled '' or 'ai.onnx'. */
export function normalDomain(d: string): string {
  return d === 'ai.onnx' ? '' : d;
}

export function opsetVersion(model: ModelProto, domain = ''): number {
  const e = model.opsetImport.find((o) => normalDomain(o.domain) === normalDomain(domain));
  return e ? Number(e.version) : 0;
}

export function setOpsetVersion(model: ModelProto, domain: string, version: number): void {
  const e = model.opsetImport.find((o) => normalDomain(o.domain) === normalDomain(domain));
  if (e) e.version = BigInt(version);
  else model.opsetImport.push(create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }));
}

/** The IR version a given default-domain opset needs (ONNX's versioning table). */
export function irVersionForOpset(opset: number): number {
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 12) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  if (opset >= 9) return 4;
  return 3;
}

/**
 * The options that shape a model, the only ones its metadata records: never a path (of the input, the
 * output, the data, a plan), a thread count or a switch of what is printed or checked, so that the
 * bytes do not depend on where or how fast they were made, and disclose nothing of the user's folders.
 */
const SHAPING_OPTIONS = [
  'method', 'percentile', 'weightMethod', 'target', 'activationType', 'weightType', 'symmetric', 'weightAsymmetric', 'perChannel',
  'reduceRange', 'weightBits', 'activationBits', 'equalize', 'biasCorrection', 'epochs', 'lr', 'optimizer', 'loss', 'learnScales', 'exclude', 'opTypes', 'calibSamples', 'batchSize', 'seed', 'inputShapes', 'image', 'bits', 'blockSize', 'format',
  'accuracyLevel', 'quantizeEmbeddings', 'keepIoTypes', 'overflow',
] as const;

/** Marks a model as onnxq's work: producer, version, the mode and the options that shaped it. */
export function stampModel(model: ModelProto, mode: string, options: object): void {
  model.producerName = 'onnxq';
  model.producerVersion = VERSION;
  const given = options as Record<string, unknown>;
  const recorded: Record<string, unknown> = { mode };
  // An options object with nothing set (the CLI's image options with arrays) says nothing: recorded, it
  // would make the same model's bytes differ between callers that leave it out and callers that pass it.
  const empty = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => x === undefined);
  for (const key of SHAPING_OPTIONS) if (given[key] !== undefined && !empty(given[key])) recorded[key] = given[key];
  setMetadata(model, 'onnxq.version', VERSION);
  setMetadata(model, 'onnxq.options', JSON.stringify(recorded));
}

export function setMetadata(model: ModelProto, key: string, value: string): void {
  const list = model.metadataProps;
  const e = list.find((p) => p.key === key);
  if (e) e.value = value;
  else list.push(create(StringStringEntryProtoSchema, { key, value }));
}
