/**
 * What an analysis found, as plain JSON: the graph outputs against float, every quantized tensor
 * against its float counterpart (graph-wise: the error carried through from earlier layers), the
 * layer-wise sensitivity ranking (one layer quantized at a time), weights channel by channel, and each
 * activation's histogram with the range every method would pick. `onnxq analyze --json` writes it,
 * `--report` renders it as one HTML page (analyze/html.ts).
 */
import type { RangeMethodName } from '../calibrate/observer.js';
import type { ErrorMetrics } from './metrics.js';
import type { OutputComparison } from './validate.js';

export const ANALYSIS_FORMAT = 'onnxq-analysis/1';

export interface AnalysisReport {
  format: typeof ANALYSIS_FORMAT;
  /** Labels of the two models (file names, or "the float model"). */
  floatModel: string;
  quantizedModel: string;
  /** Samples the analysis ran on. */
  samples: number;
  /** The graph outputs, quantized model against float. */
  outputs: OutputComparison[];
  /** Graph-wise: every quantized activation as the deployed model sees it, in graph order. */
  tensors: TensorError[];
  /** Layer-wise: one quantized tensor at a time, everything else float; most sensitive (lowest SQNR) first. */
  layers: LayerSensitivity[];
  weights: WeightRanges[];
  histograms: ActivationHistogram[];
  /** Quantized tensors of the quantized model with no counterpart in the float model (not compared). */
  unmatched: string[];
  /** `--method all`: one row per method. */
  methods?: MethodComparison[];
  /** Mixed precision: what was taken out of int8 and what each step bought. */
  mixedPrecision?: MixedPrecisionReport;
  timings: { analysisMs: number; floatInferenceMs: number };
}

export interface TensorError extends ErrorMetrics {
  /** The float model's tensor. */
  name: string;
  /** The quantized model's tensor compared with it (a DequantizeLinear output). */
  quantizedName: string;
  /** Op type and node name of the float tensor's producer ('' for a graph input). */
  op: string;
  node: string;
  bits: number;
  scale: number;
  zeroPoint: number;
}

export interface LayerSensitivity {
  /** The float model's tensor quantized alone: an activation (wherever it is read quantized) or a weight. */
  tensor: string;
  kind: 'activation' | 'weight';
  /** The node that computes the activation, or that reads the weight, and its op type. */
  node: string;
  op: string;
  /** Over every graph output: SQNR in dB and cosine of the model with only this layer quantized. */
  sqnr: number;
  cosine: number;
  /** Top-1 agreement with float, where the model has class outputs. */
  top1?: number;
}

export interface WeightRanges {
  /** The float weight, the node that reads it and that node's op type. */
  name: string;
  node: string;
  op: string;
  dims: number[];
  /** Per-channel axis; absent for one scale per tensor. */
  axis?: number;
  bits: number;
  /** Per channel (one entry per tensor when per-tensor): the float values' min and max … */
  min: number[];
  max: number[];
  /** … and the range the integer type covers with that channel's scale and zero point. */
  clipMin: number[];
  clipMax: number[];
  /** Error of the weight itself after quantization. */
  sqnr: number;
}

export interface ActivationHistogram {
  name: string;
  /** Exact min and max seen. */
  min: number;
  max: number;
  /** Counts of `counts.length` equal bins over [lo, hi]. */
  lo: number;
  hi: number;
  counts: number[];
  /** The clip range each method would pick for this tensor (at the quantized model's type). */
  ranges: Partial<Record<RangeMethodName, { min: number; max: number }>>;
  /** The range the quantized model uses: (qmin − z)·s … (qmax − z)·s. */
  used: { min: number; max: number };
}

export interface MethodComparison {
  method: string;
  /** Over every graph output, on held-out samples. */
  sqnr: number;
  cosine: number;
  top1?: number;
  /** Time to turn statistics into the model (calibration is shared; its share for the method's needs). */
  ms: number;
  chosen: boolean;
}

export interface MixedPrecisionReport {
  /** The budget as given, e.g. "output SQNR ≥ 20 dB". */
  budget: string;
  met: boolean;
  /** Metric of the full-int8 model, and of the model written. */
  start: number;
  end: number;
  /** Layers taken out of int8, in the order they were taken, with the metric and latency after each. */
  steps: { nodes: string[]; op: string; to: 'float' | 'int16'; metric: number; latencyMs: number }[];
  latencyMs: { float: number; int8: number; written: number };
}

/** The report as JSON, with ±Infinity and NaN (identical tensors, non-finite outputs) kept as strings, not null. */
export function reportJson(report: AnalysisReport): string {
  return JSON.stringify(report, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n';
}
