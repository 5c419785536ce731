/**
 * Plain onnxruntime-node sessions for the baselines: the float model as a user would run it (graph
 * optimization 'all', batch 1), latency loops, and the graph ORT makes of a model (which ops it
 * fused into integer kernels), read back from `optimizedModelFilePath`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, inspectModel, type Sample } from '../src/index.js';
import { median } from './report.js';

export type Level = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Intra-op threads; ORT's default when undefined. */
  threads?: number;
  level?: Level;
  optimizedModelFilePath?: string;
}

export async function session(model: string | Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: o.level ?? 'all', logSeverityLevel: 3 };
  if (o.threads) options.intraOpNumThreads = o.threads;
  if (o.optimizedModelFilePath) options.optimizedModelFilePath = o.optimizedModelFilePath;
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export function feeds(sample: Sample): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(sample)) out[name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
  return out;
}

/** Runs a sample; returns the first output (or the named one) as Float32Array with its dims. */
export async function run(s: ort.InferenceSession, sample: Sample, output?: string): Promise<{ data: Float32Array; dims: number[] }> {
  const result = await s.run(feeds(sample));
  const t = result[output ?? s.outputNames[0]!]!;
  return { data: t.data as Float32Array, dims: [...t.dims] };
}

/** Runs every output; returns them by name. */
export async function runAll(s: ort.InferenceSession, sample: Sample): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const result = await s.run(feeds(sample));
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [name, t] of Object.entries(result)) out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
  return out;
}

/**
 * Plain float inference over samples, as the calibration baseline: one session (its creation timed
 * apart), one warm-up run, then every sample once. Returns mean milliseconds per sample.
 */
export async function floatPass(model: string, samples: readonly Sample[], threads?: number, level: Level = 'all'): Promise<{ perSampleMs: number; sessionMs: number }> {
  let t = performance.now();
  const s = await session(model, { threads, level });
  const sessionMs = performance.now() - t;
  try {
    await s.run(feeds(samples[0]!));
    t = performance.now();
    for (const sample of samples) await s.run(feeds(sample));
    return { perSampleMs: (performance.now() - t) / samples.length, sessionMs };
  } finally {
    await s.release();
  }
}

/**
 * Median latency of the float and the int8 model on one input, runs interleaved (float, int8, float …)
 * so that a noisy neighbour slows both alike; `warmup` runs of each first.
 */
export async function latencyPair(floatModel: string | Uint8Array, int8Model: Uint8Array, sample: Sample, threads: number | undefined, runs = 30, warmup = 5): Promise<{ floatMs: number; int8Ms: number; ratio: number }> {
  const f = await session(floatModel, { threads });
  const q = await session(int8Model, { threads });
  try {
    const input = feeds(sample);
    for (let i = 0; i < warmup; i++) {
      await f.run(input);
      await q.run(input);
    }
    const tf: number[] = [];
    const tq: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      await f.run(input);
      tf.push(performance.now() - t);
      t = performance.now();
      await q.run(input);
      tq.push(performance.now() - t);
    }
    const floatMs = median(tf), int8Ms = median(tq);
    return { floatMs, int8Ms, ratio: int8Ms / floatMs };
  } finally {
    await f.release();
    await q.release();
  }
}

export interface FusionReport {
  /** Op type → count in the graph ORT made at the given level. */
  ops: Record<string, number>;
  /** Integer kernels: QLinear*, *Integer* ops. */
  integer: Record<string, number>;
  /** Float compute ops left (Conv, MatMul, Gemm and their fused forms). */
  floatCompute: Record<string, number>;
  quantizeLinear: number;
  dequantizeLinear: number;
  /** Op types that still read a DequantizeLinear output or feed a QuantizeLinear: where ORT found no integer kernel. */
  aroundQdq: Record<string, number>;
}

const FLOAT_COMPUTE = /(^|\.)(Conv|FusedConv|NchwcConv|ConvTranspose|MatMul|FusedMatMul|Gemm|FusedGemm|Attention|LSTM|GRU)$/;
const INTEGER = /(^|\.)(QLinear\w+|\w*Integer\w*|QGemm|QAttention|DynamicQuantize\w+)$/;

/** Opens the model at `level` with optimizedModelFilePath and counts the op types of the graph ORT wrote. */
export async function fusedOps(model: string | Uint8Array, level: Level = 'extended'): Promise<FusionReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-bench-'));
  const file = path.join(dir, 'optimized.onnx');
  try {
    const s = await session(model, { level, threads: 1, optimizedModelFilePath: file });
    await s.release();
    const optimized = decodeModel(fs.readFileSync(file), file);
    const { ops } = inspectModel(optimized);
    const aroundQdq = unfusedNeighbours(optimized.graph!.node);
    const pick = (re: RegExp) => Object.fromEntries(Object.entries(ops).filter(([k]) => re.test(k)));
    const integer = pick(INTEGER);
    const floatCompute = pick(FLOAT_COMPUTE);
    const count = (op: string) => Object.entries(ops).filter(([k]) => k === op || k.endsWith(`.${op}`)).reduce((a, [, n]) => a + n, 0);
    return { ops, integer, floatCompute, quantizeLinear: count('QuantizeLinear'), dequantizeLinear: count('DequantizeLinear'), aroundQdq };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Counts the op types (other than Q/DQ) that consume a DequantizeLinear output or produce a QuantizeLinear input. */
function unfusedNeighbours(nodes: readonly { opType: string; domain: string; input: string[]; output: string[] }[]): Record<string, number> {
  const isQ = (op: string) => op === 'QuantizeLinear' || op === 'DequantizeLinear';
  const dqOut = new Set(nodes.filter((n) => n.opType === 'DequantizeLinear').flatMap((n) => n.output));
  const qIn = new Set(nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => n.input[0]!));
  const out: Record<string, number> = {};
  for (const n of nodes) {
    if (isQ(n.opType)) continue;
    if (n.input.some((i) => dqOut.has(i)) || n.output.some((o) => qIn.has(o))) {
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      out[key] = (out[key] ?? 0) + 1;
    }
  }
  return out;
}

/** "QLinearConv 52, QLinearAdd 8" — short op names, largest counts first. */
export function opList(ops: Record<string, number>, limit = 6): string {
  const entries = Object.entries(ops).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return 'none';
  const shown = entries.slice(0, limit).map(([k, n]) => `${k.replace(/^com\.microsoft\./, '')} ${n}`);
  return shown.join(', ') + (entries.length > limit ? ` +${entries.length - limit} more` : '');
}
