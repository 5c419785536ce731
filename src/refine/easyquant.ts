/**
 * EasyQuant: per-layer scale search (Wu et al. 2020, "EasyQuant: Post-training Quantization via Scale
 * Optimization", arXiv 2006.16669; as ncnn's tools/quantize/ncnn2int8 `method=eq` does it). Starting
 * from the entropy ranges, layer by layer in graph order, each Conv/ConvTranspose/Gemm/MatMul's weight
 * scales and then its input scale are searched on a grid α·S, α ∈ [0.5, 2) in `steps` steps, to bring
 * the layer's output, computed from the input that the already-quantized earlier layers deliver, closest
 * to the float model's output of that layer — by the paper's mean cosine, or (the default here, which
 * measured better) by the output's SQNR:
 *     y_q = layer(DQ(Q(x; α_x·S_x)), DQ(Q(W; α_w·S_w))),  cos(y_q, y) = ⟨y_q, y⟩ / (‖y_q‖·‖y‖),  SQNR = ‖y‖² / ‖y_q − y‖²
 * Each output channel depends on its own weight scale only, so one run per candidate scores every
 * channel (its own cosine per sample); the input scale is then scored with the whole output per sample.
 * A candidate wins only when it scores higher than the starting scale, so a layer never gets worse
 * on its calibration samples. Zero points are kept (a folded Relu stays exact).
 */
import { concatSamples } from '../data/batch.js';
import type { HostTensor } from '../data/source.js';
import type { Graph } from '../ir/graph.js';
import { opsetVersion } from '../ir/model.js';
import { attrInt, isStandard } from '../ir/node.js';
import type { ValueType } from '../ir/types.js';
import { bitsOf, qrange } from '../quant/spec.js';
import { Runner, type RunnerOptions } from '../runtime/runner.js';
import type { QuantPlan } from '../plan/plan.js';
import type { Calibration } from '../quantize.js';
import { collectTaps, spread } from './layer-data.js';
import { layerModel, type Layer } from './layer-model.js';

export interface EasyQuantOptions {
  /** Candidate scales per search, α = 0.5 + 1.5·i/steps (default 100). */
  steps?: number;
  /** Calibration samples the search runs on (default 50, at most the calibration's). */
  samples?: number;
  threads?: number;
  /**
   * Bytes of layer inputs and float outputs that may be collected in one run of the quantized model
   * (default 0: one layer at a time, each fed by every earlier layer as searched). Above 0, the layers
   * whose data fits take their inputs from the model as it was before any of them was searched —
   * faster, but measured on PaddleOCR rec that stale input costs 7 dB of output SQNR (searched scales
   * fit the errors of inputs that no longer occur), so it is there to measure, not to use.
   */
  groupBytes?: number;
  /**
   * What a candidate maximises: 'sqnr' (default), the layer output's signal-to-noise ratio
   * Σ y² / Σ (y_q − y)² over all samples, which also sees errors of gain that a cosine cannot; or
   * 'cosine', the mean cosine per sample, as the paper and ncnn. Measured (model output SQNR on held-out
   * samples): PaddleOCR rec entropy 10.3 dB, cosine 13.2, sqnr 14.5; a small CNN entropy 48.2, cosine
   * 47.9 (40 steps, below entropy) / 48.5 (100 steps), sqnr 50.5 / 49.8.
   */
  objective?: 'cosine' | 'sqnr';
  /** Search the weights' scales (default true) and the inputs' (default true). */
  weights?: boolean;
  inputs?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface EasyQuantLayer {
  node: string;
  /** Mean cosine with the float output before and after the search. */
  cosineBefore: number;
  cosineAfter: number;
  /** Whether the input scale was searched here (false: fixed or searched by an earlier reader). */
  inputSearched: boolean;
  ms: number;
}

export interface EasyQuantReport {
  steps: number;
  samples: number;
  layers: EasyQuantLayer[];
  /** Layers left as they were, and why. */
  skipped: { node: string; reason: string }[];
  /** Time to export the quantized model and collect the layers' inputs and float outputs. */
  collectMs: number;
  searchMs: number;
  totalMs: number;
  msPerLayer: number;
}

const LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
/** Bytes of x and y_ref per run of the one-layer model; more samples than this run in several chunks. */
const CHUNK_BYTES = 64 * 2 ** 20;

/** Searches the scales of `plan` (resolved, with entropy ranges) in place; the entries it changes get state 'searched'. */
export async function easyQuant(cal: Calibration, plan: QuantPlan, options: EasyQuantOptions = {}): Promise<EasyQuantReport> {
  const start = performance.now();
  const steps = options.steps ?? 100;
  const indices = spread(cal.selection.calibration, options.samples ?? 50);
  const skipped: EasyQuantReport['skipped'] = [];
  const layers = findLayers(cal.graph, plan, skipped);
  const runner: RunnerOptions = { ...(options.threads ? { threads: options.threads } : {}), label: 'the float model (EasyQuant references)' };
  const floatRunner = await Runner.create(cal.model, { ...runner, add: { outputs: [...new Set(layers.map((l) => l.output))] } });
  const searchedInputs = new Set<string>();
  // QuantizeLinear with a per-channel axis needs opset 13; the layer's own op reads the same at the model's opset.
  const opset = Math.max(13, opsetVersion(cal.model));
  const report: EasyQuantLayer[] = [];
  let collectMs = 0;
  try {
    for (const group of groups(layers, cal.types, indices.length, options.groupBytes ?? 0)) {
      const t0 = performance.now();
      const data = await collect(cal, plan, group, indices, floatRunner, runner);
      collectMs += performance.now() - t0;
      for (const layer of group) {
        const t = performance.now();
        const d = data.get(layer)!;
        data.delete(layer);
        const r = await searchLayer(cal.graph, plan, layer, d, { steps, opset, objective: options.objective ?? 'sqnr', weights: options.weights ?? true, inputs: options.inputs ?? true }, runner, searchedInputs);
        report.push({ node: layer.node.name, ...r, ms: performance.now() - t });
        options.onProgress?.(report.length, layers.length);
      }
    }
  } finally {
    await floatRunner.release();
  }
  const totalMs = performance.now() - start;
  const searchMs = report.reduce((a, l) => a + l.ms, 0);
  return { steps, samples: indices.length, layers: report, skipped, collectMs, searchMs, totalMs, msPerLayer: report.length ? totalMs / report.length : 0 };
}

/** The layers to search, in graph order; the others that have a quantized weight are listed as skipped. */
function findLayers(graph: Graph, plan: QuantPlan, skipped: EasyQuantReport['skipped']): Layer[] {
  const folds = new Map(plan.folded.map((f) => [f.output, f]));
  const out: Layer[] = [];
  for (const node of graph.nodes) {
    if (!LAYER_OPS.has(node.opType) || !isStandard(node)) continue;
    const weight = node.input[1];
    const w = weight ? plan.weights[weight] : undefined;
    if (!weight || !w?.params || w.params.state === 'float' || !graph.constant(weight)) continue;
    const skip = (reason: string) => skipped.push({ node: node.name, reason });
    const input = node.input[0]!;
    const x = plan.activations[input];
    if (!x?.params || x.params.state === 'float') skip('its input is not quantized');
    else if (bitsOf(x.dtype) !== 8 || bitsOf(w.dtype) !== 8) skip('not 8-bit');
    else if (w.reduceRange) skip('7-bit weights (--reduce-range): a larger range would not fit');
    else if (graph.consumers(weight).length !== 1) skip('its weight is shared with another node');
    else if (node.opType === 'Gemm' && attrInt(node, 'transA', 0)) skip('Gemm with transA');
    else {
      const fold = folds.get(input);
      const foldNode = fold ? graph.node(fold.node) : undefined;
      out.push({
        node,
        input,
        fetch: fold ? fold.input : input,
        ...(foldNode ? { fold: foldNode } : {}),
        weight,
        output: node.output[0]!,
        channelAxis: node.opType === 'Conv' || node.opType === 'ConvTranspose' ? 1 : -1, // -1: the last, set once the rank is known
      });
    }
  }
  return out;
}

/** Consecutive layers whose inputs and float outputs for all samples fit in `bytes` together (at least one each). */
function* groups(layers: Layer[], types: Map<string, ValueType>, samples: number, bytes: number): Generator<Layer[]> {
  let group: Layer[] = [];
  let used = 0;
  const size = (name: string) => 4 * (types.get(name)?.shape ?? []).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
  for (const l of layers) {
    const need = samples * (size(l.fetch) + size(l.output));
    if (group.length && used + need > bytes) {
      yield group;
      group = [];
      used = 0;
    }
    group.push(l);
    used += need;
  }
  if (group.length) yield group;
}

interface LayerData {
  /** Per chunk of samples: the layer's input (from the quantized model) and the float output. */
  chunks: { x: HostTensor; y: HostTensor }[];
}

/** Runs the model quantized with the plan as it stands and the float model over the samples, keeping each layer's input and output. */
async function collect(cal: Calibration, plan: QuantPlan, group: Layer[], indices: number[], floatRunner: Runner, options: RunnerOptions): Promise<Map<Layer, LayerData>> {
  const { xs, ys } = await collectTaps(cal.source, cal.model, plan, group, indices, floatRunner, { ...options, label: 'the quantized model (EasyQuant inputs)' });
  return new Map(group.map((l) => [l, { chunks: chunked(xs.get(l.fetch)!, ys.get(l.output)!) }]));
}

/** Consecutive samples of equal shapes stacked into chunks of at most CHUNK_BYTES. */
function chunked(xs: HostTensor[], ys: HostTensor[]): LayerData['chunks'] {
  const out: LayerData['chunks'] = [];
  let part: number[] = [];
  let bytes = 0;
  const same = (a: HostTensor, b: HostTensor) => a.dims.length === b.dims.length && a.dims.every((d, k) => k === 0 || d === b.dims[k]);
  const flush = () => {
    if (!part.length) return;
    const stack = (ts: HostTensor[]) => concatSamples(part.map((i) => ({ t: ts[i]! })))['t']!;
    out.push({ x: stack(xs), y: stack(ys) });
    part = [];
    bytes = 0;
  };
  for (let i = 0; i < xs.length; i++) {
    const b = 4 * (xs[i]!.data.length + ys[i]!.data.length);
    if (part.length && (bytes + b > CHUNK_BYTES || !same(xs[part[0]!]!, xs[i]!) || !same(ys[part[0]!]!, ys[i]!))) flush();
    part.push(i);
    bytes += b;
  }
  flush();
  return out;
}

/**
 * Cosines of one candidate: per output channel over all rows together (a Gemm's row holds one value
 * per channel, whose cosine would be only its sign), and of the whole output, per row (sample), averaged.
 */
interface Scores {
  channel: Float64Array;
  whole: number;
  /** Mean cosine per row, for the report whatever the objective. */
  cosine: number;
}

async function searchLayer(
  graph: Graph,
  plan: QuantPlan,
  layer: Layer,
  data: LayerData,
  { steps, opset, objective, weights, inputs }: { steps: number; opset: number; objective: 'cosine' | 'sqnr'; weights: boolean; inputs: boolean },
  options: RunnerOptions,
  searchedInputs: Set<string>,
): Promise<Omit<EasyQuantLayer, 'node' | 'ms'>> {
  const xEntry = plan.activations[layer.input]!;
  const wEntry = plan.weights[layer.weight]!;
  const xp = xEntry.params!;
  const wp = wEntry.params!;
  const first = data.chunks[0]!;
  const rankY = first.y.dims.length;
  const l: Layer = { ...layer, channelAxis: layer.channelAxis === -1 ? rankY - 1 : layer.channelAxis };
  const model = layerModel(graph, l, { dtype: xEntry.dtype, zeroPoint: xp.zeroPoint }, { dtype: wEntry.dtype, zeroPoint: wp.zeroPoint, axis: wEntry.axis }, { x: first.x.dims.length, y: rankY }, opset);
  const runner = await Runner.create(model, { ...options, optimization: 'all', label: `the one-layer model of '${layer.node.name}'` });
  try {
    const channels = first.y.dims[l.channelAxis]!;
    const perChannelWeight = wEntry.axis !== undefined;
    const score = async (xScale: number, wScale: Float32Array): Promise<Scores> => {
      const ees = new Float64Array(channels);
      const yys = new Float64Array(channels);
      const rrs = new Float64Array(channels);
      let cosines = 0;
      let rows = 0;
      for (const c of data.chunks) {
        const out = await runner.run({
          x: c.x,
          y_ref: c.y,
          x_scale: { dtype: 'float32', dims: [], data: Float32Array.of(xScale) },
          w_scale: { dtype: 'float32', dims: perChannelWeight ? [wScale.length] : [], data: wScale },
        });
        const ee = out.ee!.data as Float32Array;
        const yy = out.yy!.data as Float32Array;
        const rr = out.rr!.data as Float32Array;
        const n = ee.length / channels;
        for (let r = 0; r < n; r++) {
          let e = 0;
          let a = 0;
          let b = 0;
          for (let k = r * channels, end = k + channels, ch = 0; k < end; k++, ch++) {
            ees[ch]! += ee[k]!;
            yys[ch]! += yy[k]!;
            rrs[ch]! += rr[k]!;
            e += ee[k]!;
            a += yy[k]!;
            b += rr[k]!;
          }
          cosines += cosine(e, a, b);
        }
        rows += n;
      }
      const channel = Float64Array.from(ees, (e, ch) => (objective === 'cosine' ? cosine : snr)(e, yys[ch]!, rrs[ch]!));
      const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
      const whole = objective === 'cosine' ? cosines / rows : snr(sum(ees), sum(yys), sum(rrs));
      return { channel, whole, cosine: cosines / rows };
    };
    const alphas = Array.from({ length: steps }, (_, i) => 0.5 + (1.5 * i) / steps);
    const wScale = Float32Array.from(wp.scale);
    const base = await score(xp.scale[0]!, wScale);

    // Weights: every channel keeps its best candidate (the starting scale unless one beats it).
    const best = perChannelWeight ? Float64Array.from(base.channel) : Float64Array.of(base.whole);
    const chosen = Float32Array.from(wScale);
    for (const a of weights ? alphas : []) {
      const trial = Float32Array.from(wScale, (s) => Math.fround(a * s));
      const s = await score(xp.scale[0]!, trial);
      if (perChannelWeight) {
        for (let c = 0; c < channels; c++)
          if (s.channel[c]! > best[c]!) {
            best[c] = s.channel[c]!;
            chosen[c] = trial[c]!;
          }
      } else if (s.whole > best[0]!) {
        best[0] = s.whole;
        chosen[0] = trial[0]!;
      }
    }

    // Channels are scored alone; should their choices together score lower on the whole output, they are dropped.
    let after = await score(xp.scale[0]!, chosen);
    if (after.whole < base.whole) {
      chosen.set(wScale);
      after = base;
    }

    // The input scale, with the chosen weights, unless it is fixed or an earlier reader searched it.
    let xScale = xp.scale[0]!;
    const inputSearched = inputs && !xEntry.sameAs && !xEntry.range && !searchedInputs.has(layer.input);
    if (inputSearched) {
      searchedInputs.add(layer.input);
      for (const a of alphas) {
        const trial = Math.fround(a * xp.scale[0]!);
        const s = await score(trial, chosen);
        if (s.whole > after.whole) {
          after = s;
          xScale = trial;
        }
      }
    }
    writeWeight(plan, layer.weight, chosen);
    if (xScale !== xp.scale[0]) writeInput(plan, layer.input, xScale);
    return { cosineBefore: base.cosine, cosineAfter: after.cosine, inputSearched };
  } finally {
    await runner.release();
  }
}

/**
 * cos(y, r) from Σ(y − r)², Σy², Σr²: 1 − cos = (‖y − r‖² − (‖y‖ − ‖r‖)²) / (2‖y‖‖r‖), which keeps the
 * precision of the error's own sum.
 */
function cosine(ee: number, yy: number, rr: number): number {
  const y = Math.sqrt(yy);
  const r = Math.sqrt(rr);
  if (y === 0 || r === 0) return y === r ? 1 : 0;
  return 1 - (ee - (y - r) ** 2) / (2 * y * r);
}

/** Signal-to-noise ratio (not in dB): higher is better, as the cosine. */
function snr(ee: number, _yy: number, rr: number): number {
  return ee > 0 ? rr / ee : rr > 0 ? Infinity : 1;
}

function writeWeight(plan: QuantPlan, name: string, scale: Float32Array): void {
  const p = plan.weights[name]!.params!;
  p.scale = Array.from(scale);
  p.state = 'searched';
}

/** A new input scale, zero point kept; the tensors that share its parameters follow. */
function writeInput(plan: QuantPlan, name: string, scale: number): void {
  const e = plan.activations[name]!;
  const p = e.params!;
  const { qmin, qmax } = qrange({ dtype: e.dtype, symmetric: e.symmetric });
  const z = p.zeroPoint[0]!;
  Object.assign(p, { scale: [scale], state: 'searched', min: (qmin - z) * scale, max: (qmax - z) * scale });
  const followers = (root: string): string[] => Object.entries(plan.activations).flatMap(([n, f]) => (f.sameAs === root ? [n, ...followers(n)] : []));
  for (const n of followers(name)) Object.assign(plan.activations[n]!.params!, { scale: [scale], state: 'searched' });
}
