/**
 * analyzeModels(): where a quantized model loses accuracy against its float model, on samples of
 * calibration data. The float model is prepared as onnxq prepares it for quantization (so that tensors
 * of onnxq's models line up one to one; others are matched by graph position, match.ts), then:
 * the graph outputs compared (validate.ts), every quantized tensor compared as the deployed model
 * computes it (graphwise.ts), one layer quantized at a time (layerwise.ts), and each tensor's
 * histogram with the range every method would pick and each weight's per-channel ranges (summaries.ts).
 */
import type { ModelProto } from 'onnx-buf';
import { collectStats } from '../calibrate/collect.js';
import { needsOf } from '../calibrate/methods.js';
import type { RangeMethodName } from '../calibrate/observer.js';
import type { CalibrationSource } from '../data/source.js';
import { Graph } from '../ir/graph.js';
import { bitsOf } from '../quant/spec.js';
import { prepareFloat, sizes } from '../quantize.js';
import type { RunnerOptions } from '../runtime/runner.js';
import { graphwiseErrors } from './graphwise.js';
import { layersOf, layerwiseErrors, switchableModel } from './layerwise.js';
import { checkCorrespondence, matchModels } from './match.js';
import { ANALYSIS_FORMAT, type AnalysisReport, type LayerSensitivity, type TensorError, type WeightRanges } from './report.js';
import { activationHistogram, coveredRange, quantTypeOf, specOf, weightRanges } from './summaries.js';
import { compareModels } from './validate.js';

/** The methods whose ranges the histograms show. */
export const HISTOGRAM_METHODS: readonly RangeMethodName[] = ['minmax', 'percentile', 'entropy', 'mse', 'admm', 'aciq'];

export interface AnalyzeOptions {
  /** Samples to compare on (default 32; fewer when the data has fewer). */
  samples?: number;
  /** Samples for the layer-wise ranking, which runs once per layer and sample (default 8). */
  layerSamples?: number;
  /** Rank layers one at a time (default true). */
  layerwise?: boolean;
  /** Histograms with each method's range (default true). */
  histograms?: boolean;
  seed?: number;
  threads?: number;
  labels?: { float: string; quantized: string };
  onProgress?: (phase: 'graph-wise' | 'histograms' | 'layer-wise', done: number, total: number) => void;
}

export const DEFAULT_ANALYSIS_SAMPLES = 32;
export const DEFAULT_LAYER_SAMPLES = 8;

export async function analyzeModels(floatModel: ModelProto, quantizedModel: ModelProto, source: CalibrationSource, options: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const start = performance.now();
  const labels = options.labels ?? { float: 'the float model', quantized: 'the quantized model' };
  const runner: RunnerOptions = options.threads ? { threads: options.threads } : {};
  // A quantized model that kept its ConvTransposes was not made for onnxruntime's 1×1-Conv rewrite.
  const keepsConvTranspose = quantizedModel.graph!.node.some((n) => n.opType === 'ConvTranspose');
  const prep = await prepareFloat(floatModel, source, {
    calibSamples: options.samples ?? DEFAULT_ANALYSIS_SAMPLES,
    holdOut: false,
    seed: options.seed,
    threads: options.threads,
    planOptions: [{ target: keepsConvTranspose ? 'tensorrt' : 'ort-qdq' }],
  });
  const indices = prep.selection.calibration;
  const match = matchModels(prep.model, quantizedModel, { float: labels.float, qdq: labels.quantized });
  checkCorrespondence(match, quantizedModel, { float: labels.float, qdq: labels.quantized });

  const validation = await compareModels(floatModel, quantizedModel, source, indices, { runner, classOutputs: prep.classOutputs });
  const pairs = [...match.activations].map(([quantized, a]) => ({ quantized, float: a.float }));
  const errors = await graphwiseErrors(prep.model, quantizedModel, pairs, source, indices, runner, (d, t) => options.onProgress?.('graph-wise', d, t));
  const tensors: TensorError[] = [];
  for (const [quantized, a] of match.activations) {
    const type = quantTypeOf(a.params);
    const producer = prep.graph.producer(a.float);
    tensors.push({
      name: a.float,
      quantizedName: quantized,
      op: producer?.opType ?? '',
      node: producer?.name ?? '',
      bits: type ? bitsOf(type) : 0,
      scale: a.params.scale[0]!,
      zeroPoint: a.params.zeroPoint[0] ?? 0,
      ...errors.get(quantized)!.metrics,
    });
  }

  const qg = new Graph(quantizedModel.graph!);
  const weights: WeightRanges[] = [];
  const seenWeights = new Set<string>();
  for (const u of match.uses) {
    const type = quantTypeOf(u.params);
    const float = prep.graph.constant(u.float);
    const stored = u.stored ? qg.constant(u.stored) : undefined;
    if (u.kind !== 'weight' || !type || !float || (u.stored && !stored) || seenWeights.has(u.float)) continue;
    seenWeights.add(u.float);
    weights.push(weightRanges(u.float, u.node, float, stored, u.params, type));
  }

  const histograms: AnalysisReport['histograms'] = [];
  if (options.histograms ?? true) {
    const byFloat = new Map([...match.activations.values()].filter((a) => quantTypeOf(a.params) && !prep.graph.constant(a.float)).map((a) => [a.float, a.params]));
    const stats = byFloat.size
      ? await collectStats(prep.model, [...byFloat.keys()], source, indices, {
          needs: needsOf(HISTOGRAM_METHODS),
          runner,
          sizes: sizes(prep.types),
          seed: options.seed,
          onProgress: (_phase, d, t) => options.onProgress?.('histograms', d, t),
        })
      : new Map();
    for (const [name, params] of byFloat) {
      const s = stats.get(name);
      const type = quantTypeOf(params)!;
      if (s) histograms.push(activationHistogram(name, s, specOf(params, type), coveredRange(params, type), HISTOGRAM_METHODS));
    }
  }

  const layers: LayerSensitivity[] = [];
  if ((options.layerwise ?? true) && match.uses.length) {
    // Biases (int32) follow their input and weight; they are not ranked on their own.
    const groups = layersOf(match.uses.filter((u) => quantTypeOf(u.params)));
    const model = switchableModel(prep.model, groups, (n) => qg.constant(n));
    const layerIndices = indices.slice(0, options.layerSamples ?? DEFAULT_LAYER_SAMPLES);
    const results = await layerwiseErrors(model, groups, source, layerIndices, { runner, classOutputs: prep.classOutputs, onStep: (d, t) => options.onProgress?.('layer-wise', d, t) });
    for (const r of results) {
      const { tensor, kind } = r.layer;
      const node = kind === 'weight' ? r.layer.uses[0]!.node : prep.graph.producer(tensor);
      layers.push({
        tensor,
        kind,
        node: node?.name ?? '',
        op: node?.opType ?? '',
        sqnr: r.error.sqnr,
        cosine: r.error.cosine,
        ...(r.top1 && r.top1.rows ? { top1: r.top1.matches / r.top1.rows } : {}),
      });
    }
    layers.sort((a, b) => a.sqnr - b.sqnr);
  }

  return {
    format: ANALYSIS_FORMAT,
    floatModel: labels.float,
    quantizedModel: labels.quantized,
    samples: indices.length,
    outputs: validation.outputs,
    tensors,
    layers,
    weights,
    histograms,
    unmatched: match.unmatched,
    timings: { analysisMs: performance.now() - start, floatInferenceMs: validation.floatMs },
  };
}
