/**
 * Runner: an onnxruntime session over a model, fed with host tensors. It can expose intermediate
 * values (by adding them as graph outputs), batches samples where the model's batch dimension is
 * free, and turns onnxruntime's failures into errors that say which model and what to try.
 */
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from 'onnx-buf';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { fail } from '../errors.js';
import type { HostTensor, Sample } from '../data/source.js';
import { externalOf } from '../onnx/external.js';
import { onnxTypeFromOrt } from '../onnx/dtype.js';
import type { ValueType } from '../ir/types.js';
import { sessionBytes } from '../onnx/session-bytes.js';
import { forEachTensor } from '../onnx/walk.js';
import { getRuntime } from './ort.js';

export interface RunnerOptions {
  /** Intra-op threads; onnxruntime's default (all cores) when unset. */
  threads?: number;
  /** Graph optimization (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Nodes, weights and outputs to add to a ModelProto for this session (values to expose, probes). */
  add?: Augmentation;
  /** For messages: which model this is ("the float model", a file name …). */
  label?: string;
}

function stage(model: ModelProto, add: Augmentation): { path: string; remove(): void } {
  if (!stager) throw new Error('a model with tensors in external files, and no stager to write it for onnxruntime'); // only Node's loader makes such tensors, and it brings one
  return stager(model, add);
}

export class Runner {
  private constructor(
    private readonly session: InferenceSession,
    private readonly TensorCtor: typeof Tensor,
    readonly label: string,
  ) {}

  /** `model` may be a file path (onnxruntime reads it, external data too), encoded bytes, or a ModelProto (the only form that takes `add`). */
  static async create(model: ModelProto | Uint8Array | string, options: RunnerOptions = {}): Promise<Runner> {
    const ort = getRuntime();
    const label = options.label ?? 'the model';
    const file = typeof model === 'string' || model instanceof Uint8Array || !staged(model) ? undefined : stage(model, options.add ?? {});
    const source = typeof model === 'string' || model instanceof Uint8Array ? model : (file?.path ?? encodeAugmented(model, options.add ?? {}));
    const sessionOptions: InferenceSession.SessionOptions = {
      graphOptimizationLevel: options.optimization ?? 'all',
      // Fatal only: onnxruntime's own log lines (C++ file paths) must not reach the user; its errors
      // arrive as exceptions, which become onnxq's messages.
      logSeverityLevel: 4,
    };
    if (options.threads) sessionOptions.intraOpNumThreads = options.threads;
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(source, sessionOptions);
    } catch (e) {
      fail('RUNTIME', `onnxruntime could not load ${label}: ${firstLine(e)}`, e);
    } finally {
      file?.remove(); // onnxruntime has read the file
    }
    return new Runner(session, ort.Tensor, label);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * Element type and shape of each tensor output as onnxruntime's own inference found them when it
   * loaded the model, where the shape is wholly static; outputs it could not settle are left out, and
   * so are scalars: onnxruntime reports a shape it does not know as [], as it does a scalar's.
   */
  get inferredOutputTypes(): Map<string, ValueType> {
    const out = new Map<string, ValueType>();
    for (const m of this.session.outputMetadata ?? [])
      if (m.isTensor && m.shape.length > 0 && m.shape.every((d) => typeof d === 'number' && d >= 0))
        out.set(m.name, { dtype: onnxTypeFromOrt(m.type), shape: m.shape as number[] });
    return out;
  }

  /** onnxruntime's element type of each tensor input ('float32', 'float16', …), by name. */
  get inputTypes(): ReadonlyMap<string, string> {
    return new Map(this.session.inputMetadata.flatMap((m) => (m.isTensor ? [[m.name, m.type] as const] : [])));
  }

  /** Runs once; returns the requested outputs (all when `fetch` is omitted) as host tensors. */
  async run(feeds: Sample, fetch?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds))
      ortFeeds[name] = new this.TensorCtor(t.dtype as 'float32', t.data as Float32Array, t.dims);
    let result: InferenceSession.ReturnType;
    try {
      result = fetch ? await this.session.run(ortFeeds, fetch as string[]) : await this.session.run(ortFeeds);
    } catch (e) {
      fail('RUNTIME', `onnxruntime failed to run ${this.label}: ${firstLine(e)}`, e);
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(result)) {
      out[name] = { dtype: t.type, dims: [...t.dims], data: t.data as Float32Array };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Nodes, initializers, inputs and outputs to add to a model for one session (e.g. calibration probes). */
export interface Augmentation {
  nodes?: NodeProto[];
  initializers?: TensorProto[];
  /** Inputs to add; one named like a graph input replaces that input's declaration. */
  inputs?: ValueInfoProto[];
  outputs?: string[];
  /** Leave the graph's value_info out: hints that could contradict redeclared inputs. */
  withoutValueInfo?: true;
}

/** The model's bytes with the additions, for onnxruntime; the model itself is left unchanged. */
export function encodeAugmented(model: ModelProto, add: Augmentation): Uint8Array {
  return withAugmentation(model, add, sessionBytes);
}

/** Runs `encode` on the model with the additions in place, and takes them out again. */
export function withAugmentation<T>(model: ModelProto, add: Augmentation, encode: (model: ModelProto) => T): T {
  const graph = model.graph!;
  const saved = { node: graph.node, initializer: graph.initializer, input: graph.input, output: graph.output, valueInfo: graph.valueInfo };
  const existing = new Set(saved.output.map((o) => o.name));
  const extra = (add.outputs ?? []).filter((n) => !existing.has(n)).map((name) => create(ValueInfoProtoSchema, { name }));
  const inputs = new Map((add.inputs ?? []).map((i) => [i.name, i]));
  graph.node = [...saved.node, ...(add.nodes ?? [])];
  graph.initializer = [...saved.initializer, ...(add.initializers ?? [])];
  const declared = new Set(saved.input.map((i) => i.name));
  graph.input = [...saved.input.map((i) => inputs.get(i.name) ?? i), ...[...inputs.values()].filter((i) => !declared.has(i.name))];
  graph.output = [...saved.output, ...extra];
  if (add.withoutValueInfo) graph.valueInfo = [];
  try {
    return encode(model);
  } finally {
    Object.assign(graph, saved);
  }
}

/**
 * A model whose weights are still in their external files (onnx/external.ts) goes to onnxruntime as a
 * file beside those files, never as bytes: it may be past protobuf's 2 GiB, and onnxruntime then reads
 * the weights itself — one copy of them, in onnxruntime. A large model held in memory goes as a file
 * too, its weights in a data file beside: encoded into one buffer it would be a third copy. Writing
 * files takes a file system, which the core has not: the Node side gives a stager (src/node/stage.ts);
 * without one (a browser), a model in memory goes as bytes.
 */
export type ModelStager = (model: ModelProto, add: Augmentation) => { path: string; remove(): void };

let stager: ModelStager | undefined;

export function useStager(s: ModelStager): void {
  stager = s;
}

/** Weights in memory from this many bytes on go to onnxruntime through a file, where a stager is given. */
const STAGE_FROM_BYTES = 256 * 2 ** 20;

/** Whether a model goes to onnxruntime as a file: its weights are in external files, or many in memory. */
function staged(model: ModelProto): boolean {
  let external = false;
  let inline = 0;
  forEachTensor(model.graph!, (t) => {
    external ||= externalOf(t) !== undefined;
    inline += t.rawData.length;
  });
  return external || (stager !== undefined && inline >= STAGE_FROM_BYTES);
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.replace(/^\[[^\]]*\]\s*/, '');
}
