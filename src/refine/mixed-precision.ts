/**
 * Automatic mixed precision: tensors are taken out of int8, most useful first, until the quantized
 * model meets an accuracy budget on held-out samples — the accuracy-driven fallback of Intel Neural
 * Compressor (tuning by op sensitivity) and AIMET's AMP, at the granularity of onnxq's plan: one entry,
 * an activation or a weight, goes to float.
 *
 * Ranking: the layer-wise sensitivity of the full-int8 model (analyze/layerwise.ts): the output noise
 * each tensor adds when it alone is quantized. Search: models with the k best taken out are exported and
 * measured for real (onnxruntime's integer kernels, latency included) at k = 1, 2, 4 … until the
 * budget holds, then by bisection for the smallest k — O(log n) models, not n.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { layersOf, layerwiseErrors, switchableModel, type Layer } from '../analyze/layerwise.js';
import { matchModels } from '../analyze/match.js';
import type { MixedPrecisionReport } from '../analyze/report.js';
import { quantTypeOf } from '../analyze/summaries.js';
import { ReferenceOutputs, type ValidationReport } from '../analyze/validate.js';
import type { QuantPlan } from '../plan/plan.js';
import type { RunnerOptions } from '../runtime/runner.js';
import type { Calibration, QuantizeResult } from '../quantize.js';

/** What the quantized model must reach on the held-out samples. */
export type Budget =
  /** Every graph output's SQNR against float, in dB. */
  | { minSqnr: number }
  /** Every output's SQNR at most this many dB below the same model with 16-bit activations. */
  | { maxSqnrDrop: number }
  /** Top-1 agreement with float on every class-score output, as a share (0.99). */
  | { minTop1: number }
  /** A metric of the user's (higher is better, e.g. accuracy on a labelled set) and its floor. */
  | { metric: (model: ModelProto) => Promise<number> | number; min: number; name?: string };

export interface MixedPrecisionOptions {
  budget: Budget;
  /** Calibration samples that rank the tensors (default 8). */
  rankSamples?: number;
  runner?: RunnerOptions;
  classOutputs: ReadonlySet<string>;
  onProgress?: (phase: string, done: number, total: number) => void;
}

/** Exports the calibrated model with a plan (the full-int8 plan when none is given). */
export type ExportWith = (plan?: QuantPlan, options?: { activationType?: 'int16' | 'uint16' }) => Promise<QuantizeResult>;

export interface MixedPrecisionResult {
  result: QuantizeResult;
  report: MixedPrecisionReport;
}

/** `floatModel`: the float model as given (or its file), whose outputs the budget is measured against. */
export async function mixedPrecision(cal: Calibration, floatModel: ModelProto | string, exportWith: ExportWith, options: MixedPrecisionOptions): Promise<MixedPrecisionResult> {
  if (cal.selection.heldOut.length === 0 || cal.selection.shared)
    fail('BAD_OPTION', 'a mixed-precision budget is measured on held-out samples: give at least two calibration samples, and leave validation on.');
  const reference = await ReferenceOutputs.of(floatModel, cal.source, cal.selection.heldOut, { runner: { ...options.runner }, classOutputs: options.classOutputs });
  const full = await exportWith();
  const measure = await metricOf(options.budget, cal, exportWith, reference);
  const start = await measure(full);
  const budget = describe(options.budget, measure.floor);
  const base = { budget, start: start.metric, latencyMs: { float: reference.floatMs, int8: start.validation.quantizedMs, written: start.validation.quantizedMs } };
  if (start.metric >= measure.floor) {
    full.validation = start.validation;
    return { result: full, report: { ...base, met: true, end: start.metric, steps: [] } };
  }

  const ranked = await rankTensors(cal, full, options);
  const foldedOutput = new Map(full.plan.folded.map((f) => [f.input, f.output]));
  const entries = ranked.map((l) => planEntry(full.plan, l, foldedOutput)).filter((e): e is PlanKey => !!e);
  if (entries.length === 0) {
    full.validation = start.validation;
    return { result: full, report: { ...base, met: false, end: start.metric, steps: [] } };
  }
  // k = 0 is the full-int8 model: the best found may be it, where taking tensors out does not help.
  const evaluated = new Map<number, { result: QuantizeResult; metric: number; validation: ValidationReport }>([[0, { result: full, ...start }]]);
  const at = async (k: number) => {
    let e = evaluated.get(k);
    if (!e) {
      const result = await exportWith(withFloat(full.plan, entries.slice(0, k)));
      const m = await measure(result);
      evaluated.set(k, (e = { result, ...m }));
      options.onProgress?.('mixed precision', evaluated.size, Math.ceil(2 * Math.log2(entries.length + 1)));
    }
    return e;
  };
  // Galloping then bisection: the smallest k found whose model meets the budget.
  let lo = 0;
  let hi = 0;
  for (let k = 1; ; k = Math.min(2 * k, entries.length)) {
    if ((await at(k)).metric >= measure.floor) {
      hi = k;
      break;
    }
    lo = k;
    if (k === entries.length) break;
  }
  if (hi) {
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await at(mid)).metric >= measure.floor) hi = mid;
      else lo = mid;
    }
  }
  const chosenK = hi || [...evaluated].reduce((best, [k, e]) => (e.metric > evaluated.get(best)!.metric ? k : best), lo);
  const chosen = evaluated.get(chosenK)!;
  chosen.result.validation = chosen.validation;
  const ks = [...evaluated.keys()].filter((k) => k > 0 && k <= chosenK).sort((a, b) => a - b);
  const steps = ks.map((k, i) => {
    const added = entries.slice(i === 0 ? 0 : ks[i - 1]!, k);
    const e = evaluated.get(k)!;
    return { nodes: added.map((a) => a.name), op: added.map((a) => a.kind).join(', '), to: 'float' as const, metric: e.metric, latencyMs: e.validation.quantizedMs };
  });
  return {
    result: chosen.result,
    report: { ...base, met: !!hi, end: chosen.metric, steps, latencyMs: { ...base.latencyMs, written: chosen.validation.quantizedMs } },
  };
}

interface Measure {
  (result: QuantizeResult): Promise<{ metric: number; validation: ValidationReport }>;
  floor: number;
}

async function metricOf(budget: Budget, cal: Calibration, exportWith: ExportWith, reference: ReferenceOutputs): Promise<Measure> {
  const compare = (r: QuantizeResult) => reference.compare(r.model);
  let measure: (r: QuantizeResult) => Promise<{ metric: number; validation: ValidationReport }>;
  let floor: number;
  if ('metric' in budget) {
    measure = async (r) => ({ metric: await budget.metric(r.model), validation: await compare(r) });
    floor = budget.min;
  } else if ('minTop1' in budget) {
    if (![...cal.classOutputs].length) fail('BAD_OPTION', 'no output of the model looks like class scores (a Softmax, or 2-D logits), so top-1 agreement cannot be measured; use --min-sqnr instead.');
    measure = async (r) => {
      const v = await compare(r);
      // A class output without top-1 (not finite) fails the budget rather than drop out of it.
      const scores = v.outputs.filter((o) => cal.classOutputs.has(o.name)).map((o) => o.top1 ?? -Infinity);
      return { metric: scores.length ? Math.min(...scores) : -Infinity, validation: v };
    };
    floor = budget.minTop1;
  } else {
    measure = async (r) => {
      const v = await compare(r);
      return { metric: Math.min(...v.outputs.map((o) => (Number.isNaN(o.sqnr) ? -Infinity : o.sqnr))), validation: v };
    };
    if ('minSqnr' in budget) floor = budget.minSqnr;
    else {
      const wide = await exportWith(undefined, { activationType: 'uint16' });
      floor = (await measure(wide)).metric - budget.maxSqnrDrop;
    }
  }
  return Object.assign(measure, { floor });
}

function describe(b: Budget, floor: number): string {
  if ('metric' in b) return `${b.name ?? 'metric'} ≥ ${b.min}`;
  if ('minTop1' in b) return `top-1 agreement ≥ ${(b.minTop1 * 100).toFixed(2)} %`;
  if ('minSqnr' in b) return `output SQNR ≥ ${b.minSqnr} dB`;
  return `output SQNR ≥ ${floor.toFixed(2)} dB (${b.maxSqnrDrop} dB below 16-bit activations)`;
}

interface PlanKey {
  kind: 'activation' | 'weight';
  /** The plan entry's name. */
  name: string;
}

/** The plan entry a ranked tensor is: activations by name (or the Relu output a fold names), weights by name. */
function planEntry(plan: QuantPlan, l: Layer, foldedOutput: ReadonlyMap<string, string>): PlanKey | undefined {
  if (l.kind === 'weight') return plan.weights[l.tensor] ? { kind: 'weight', name: l.tensor } : undefined;
  if (plan.activations[l.tensor]) return { kind: 'activation', name: l.tensor };
  const output = foldedOutput.get(l.tensor);
  return output && plan.activations[output] ? { kind: 'activation', name: output } : undefined;
}

/** A copy of the plan with these entries left float. */
function withFloat(plan: QuantPlan, keys: readonly PlanKey[]): QuantPlan {
  const copy = structuredClone(plan);
  for (const k of keys) {
    const e = k.kind === 'weight' ? copy.weights[k.name] : copy.activations[k.name];
    if (e?.params) e.params.state = 'float';
  }
  return copy;
}

/**
 * Every quantized tensor of the full-int8 model, in the order to take them out of int8. Each one's
 * worth is the output noise it adds when quantized alone (analyze/layerwise.ts): errors of separate
 * tensors add up at the outputs to a first approximation. (Ranked by the noise each removes from the
 * full-int8 model instead, a difference of two nearly equal noises, the order on PaddleOCR rec was no
 * better than chance.) Its cost is the integer layers it turns float: both layers around an
 * activation, the layer of a weight — none where they are float already. Float islands cost their
 * Q/DQ at both ends, so the order is built greedily by noise ÷ new cost: a tensor next to what is
 * already float comes early, and the float regions grow contiguous.
 */
async function rankTensors(cal: Calibration, full: QuantizeResult, options: MixedPrecisionOptions): Promise<Layer[]> {
  const match = matchModels(cal.model, full.model);
  const layers = layersOf(match.uses.filter((u) => quantTypeOf(u.params)));
  const qg = new Graph(full.model.graph!);
  const model = switchableModel(cal.model, layers, (n) => qg.constant(n));
  const samples = cal.selection.calibration.slice(0, options.rankSamples ?? 8);
  const errors = await layerwiseErrors(model, layers, cal.source, samples, { runner: options.runner, onStep: (d, t) => options.onProgress?.('ranking', d, t) });
  return byNoisePerCost(errors.map((e) => ({ layer: e.layer, noise: e.error.noise / (e.error.signal || 1) })), cal.graph);
}

const INTEGER_LAYERS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** The greedy order: at each step the tensor with the most noise per integer layer it newly turns float. */
export function byNoisePerCost(candidates: { layer: Layer; noise: number }[], graph: Graph): Layer[] {
  const layersOfTensor = (l: Layer): NodeProto[] => {
    if (l.kind === 'weight') return l.uses.map((u) => u.node);
    const producer = graph.producer(l.tensor);
    return [...(producer ? [producer] : []), ...graph.consumers(l.tensor)].filter((n) => INTEGER_LAYERS.has(n.opType));
  };
  const touched = candidates.map((c) => layersOfTensor(c.layer));
  const floated = new Set<NodeProto>();
  const left = new Set(candidates.keys());
  const order: Layer[] = [];
  while (left.size) {
    let best = -1;
    let bestScore = -Infinity;
    for (const i of left) {
      const cost = touched[i]!.filter((n) => !floated.has(n)).length;
      // A tensor whose layers are all float already costs nothing more: a quarter layer's worth, not zero, so that the noise still orders them.
      const score = candidates[i]!.noise / (cost + 0.25);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    left.delete(best);
    for (const n of touched[best]!) floated.add(n);
    order.push(candidates[best]!.layer);
  }
  return order;
}
