/** `onnxq quantize`: options → quantizeFile(), then a summary of what was gained and what it cost. */
import { quantizeFile, type QuantizeFileOptions, type QuantizeFileResult } from '../node/quantize-file.js';
import type { PlanOptions } from '../plan/build.js';
import { givenImageFlags } from '../data/choose.js';
import { fail } from '../errors.js';
import { runOffline } from './offline.js';
import { imageOptions, type QuantizeCliOptions } from './options.js';
import { countList, jsonHead, formatBytes, formatDb, formatMs, printable, printableJson, validationLines } from './format.js';
import type { MethodComparison, MixedPrecisionReport } from '../analyze/report.js';
import type { MethodName } from '../refine/methods.js';
import type { QuantPlan } from '../plan/plan.js';
import { bitsOf, qrange } from '../quant/spec.js';
import { withProgress } from './progress.js';
import type { Budget } from '../refine/mixed-precision.js';
import type { AdaRoundReport } from '../refine/adaround.js';

type Mode = NonNullable<QuantizeCliOptions['mode']>;

/** Options that only some modes read; any other mode refuses them rather than ignore them. */
const MODES_OF_FLAG: Record<string, readonly Mode[]> = {
  method: ['static'],
  percentile: ['static'],
  eqSteps: ['static'],
  eqSamples: ['static'],
  reconstruct: ['static'],
  adaroundIters: ['static'],
  adaroundSamples: ['static'],
  calibSamples: ['static'],
  batchSize: ['static'],
  plan: ['static'],
  savePlan: ['static'],
  saveRanges: ['static'],
  calibCache: ['static'],
  trtVersion: ['static'],
  activationType: ['static'],
  symmetric: ['static', 'weight-only'],
  reduceRange: ['static'],
  target: ['static', 'dynamic'],
  weightType: ['static', 'dynamic'],
  perChannel: ['static', 'dynamic'],
  weightAsymmetric: ['static'],
  weightMethod: ['static', 'weight-only'],
  opTypes: ['static', 'dynamic', 'weight-only'],
  bits: ['weight-only'],
  blockSize: ['weight-only'],
  format: ['weight-only'],
  accuracyLevel: ['weight-only'],
  quantizeEmbeddings: ['weight-only'],
  keepIoTypes: ['fp16'],
  inputValue: ['dynamic', 'weight-only', 'fp16'],
  force: ['dynamic', 'weight-only', 'fp16'],
  weightBits: ['static'],
  equalize: ['static'],
  biasCorrection: ['static'],
  activationBits: ['static'],
  minSqnr: ['static'],
  maxSqnrDrop: ['static'],
  minTop1: ['static'],
  report: ['static'],
};

/** The options a plan decides: given with --plan, they have nothing to act on. */
const PLAN_FLAGS = ['method', 'target', 'activationType', 'weightType', 'weightBits', 'activationBits', 'symmetric', 'weightAsymmetric', 'perChannel', 'reduceRange', 'exclude', 'opTypes', 'weightMethod'];

const WEIGHT_METHODS: Record<string, readonly string[]> = { static: ['minmax', 'admm'], 'weight-only': ['rtn', 'hqq'] };

export const flagName = (k: string) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

/** `given`: the options set on the command line (not by default). */
export async function runQuantize(input: string, o: QuantizeCliOptions, given: string[] = []): Promise<void> {
  const mode = o.mode ?? 'static';
  const misplaced = given.filter((k) => MODES_OF_FLAG[k] && !MODES_OF_FLAG[k]!.includes(mode));
  if (misplaced.length)
    fail(
      'BAD_OPTION',
      misplaced.map((k) => `${flagName(k)} applies to --mode ${MODES_OF_FLAG[k]!.join(' or ')}`).join('; ') + `, not to --mode ${mode}. Drop ${misplaced.length === 1 ? 'it' : 'them'} or change the mode.`,
    );
  if (o.weightMethod && !WEIGHT_METHODS[mode]!.includes(o.weightMethod))
    fail('BAD_OPTION', `--weight-method ${o.weightMethod} is not a ${mode} method; --mode ${mode} takes ${WEIGHT_METHODS[mode]!.join(' or ')}.`);
  const imageFlags = givenImageFlags(imageOptions(o));
  if (!o.calib && imageFlags.length && mode !== 'static')
    fail('BAD_OPTION', `${imageFlags.join(', ')} ${imageFlags.length === 1 ? 'applies' : 'apply'} to the images given with --calib, and there is no --calib. Drop ${imageFlags.length === 1 ? 'it' : 'them'}, or add --calib <folder of images>.`);
  if (mode !== 'static') return runOffline(input, mode, o);
  const all = o.method === 'all';
  if (given.includes('percentile') && o.method !== 'percentile' && !all && !o.plan)
    fail('BAD_OPTION', `--percentile applies to --method percentile; the method here is ${o.method ?? 'minmax'}. Add --method percentile or drop --percentile.`);
  const eqFlags = ['eqSteps', 'eqSamples'].filter((k) => given.includes(k));
  if (eqFlags.length && o.method !== 'eq' && !all)
    fail('BAD_OPTION', `${eqFlags.map(flagName).join(', ')} ${eqFlags.length === 1 ? 'applies' : 'apply'} to --method eq; the method here is ${o.method ?? 'minmax'}. Add --method eq or drop ${eqFlags.length === 1 ? 'it' : 'them'}.`);
  const adaFlags = ['reconstruct', 'adaroundIters', 'adaroundSamples'].filter((k) => given.includes(k));
  if (adaFlags.length && o.method !== 'adaround')
    fail('BAD_OPTION', `${adaFlags.map(flagName).join(', ')} ${adaFlags.length === 1 ? 'applies' : 'apply'} to --method adaround (learned weight rounding); the method here is ${o.method ?? 'minmax'}. Add --method adaround or drop ${adaFlags.length === 1 ? 'it' : 'them'}.`);
  if (given.includes('trtVersion') && !o.calibCache) fail('BAD_OPTION', '--trt-version sets the header of the TensorRT calibration cache; add --calib-cache FILE or drop it.');
  if (o.trtVersion !== undefined && !/^\d{3,6}$/.test(o.trtVersion))
    fail('BAD_OPTION', `--trt-version takes TensorRT's version as its cache header writes it, e.g. 8601 for TensorRT 8.6.1 or 100300 for 10.3.0; got '${o.trtVersion}'.`);
  if (!o.calib)
    fail('BAD_OPTION', 'static quantization needs calibration data: add --calib <folder of images | .npy | .npz>. Without data, use --mode dynamic, weight-only or fp16.');
  const budgets = (['minSqnr', 'maxSqnrDrop', 'minTop1'] as const).filter((k) => o[k] !== undefined);
  if (budgets.length > 1) fail('BAD_OPTION', `${budgets.map(flagName).join(' and ')} are budgets of their own; give one.`);
  if (o.minTop1 !== undefined && !(o.minTop1 > 0 && o.minTop1 <= 1)) fail('BAD_OPTION', `--min-top1 takes a share of rows in (0, 1], e.g. 0.99; got ${o.minTop1}.`);
  if (o.maxSqnrDrop !== undefined && !(o.maxSqnrDrop >= 0)) fail('BAD_OPTION', `--max-sqnr-drop takes a number of dB ≥ 0; got ${o.maxSqnrDrop}.`);
  const budget: Budget | undefined =
    o.minSqnr !== undefined ? { minSqnr: o.minSqnr } : o.maxSqnrDrop !== undefined ? { maxSqnrDrop: o.maxSqnrDrop } : o.minTop1 !== undefined ? { minTop1: o.minTop1 } : undefined;
  if (all && (budget || o.plan || o.calibCache)) fail('BAD_OPTION', `--method all chooses the ranges itself; it does not combine with ${budget ? 'a mixed-precision budget' : o.plan ? '--plan' : '--calib-cache'}.`);
  // --method still picks the TensorRT cache's calibrator when a plan decides everything else.
  const ignoredWithPlan = o.plan ? PLAN_FLAGS.filter((k) => given.includes(k) && !(k === 'method' && o.calibCache)) : [];
  const options: QuantizeFileOptions = {
    calib: o.calib,
    method: all ? undefined : (o.method as MethodName | undefined),
    ...(all ? { compareMethods: true } : {}),
    percentile: o.percentile,
    eqSteps: o.eqSteps,
    eqSamples: o.eqSamples,
    ...(adaFlags.length ? { adaround: { reconstruct: o.reconstruct, iterations: o.adaroundIters, samples: o.adaroundSamples } } : {}),
    weightMethod: o.weightMethod as PlanOptions['weightMethod'],
    target: o.target,
    activationType: o.activationType,
    weightType: o.weightType,
    weightBits: o.weightBits,
    equalize: o.equalize,
    biasCorrection: o.biasCorrection,
    activationBits: o.activationBits,
    symmetric: o.symmetric,
    weightAsymmetric: o.weightAsymmetric,
    perChannel: o.perChannel,
    reduceRange: o.reduceRange,
    exclude: o.exclude,
    opTypes: o.opTypes,
    calibSamples: o.calibSamples,
    seed: o.seed,
    threads: o.threads,
    batchSize: o.batchSize,
    inputShapes: o.inputShape,
    image: imageOptions(o),
    planFile: o.plan,
    savePlan: o.savePlan,
    saveRanges: o.saveRanges,
    calibCache: o.calibCache,
    trtVersion: o.trtVersion,
    externalData: o.externalData,
    validate: o.validate,
    ...(budget ? { budget } : {}),
    report: o.report,
  };
  const result = await withProgress(o.json, (onProgress) => quantizeFile(input, o.output, { ...options, onProgress }));
  if (ignoredWithPlan.length) result.warnings.push(`${ignoredWithPlan.map(flagName).join(', ')} had no effect: the plan from --plan decides what is quantized and how.`);
  if (o.json) process.stdout.write(printableJson(jsonSummary(input, result)));
  else process.stdout.write(textSummary(input, result));
}

function jsonSummary(input: string, r: QuantizeFileResult) {
  return {
    ...jsonHead(input, r),
    opset: r.prepare.opset,
    quantized: {
      activations: r.export.quantizedActivations,
      weights: r.export.quantizedWeights,
      biases: r.export.quantizedBiases,
      foldedActivations: r.export.foldedActivations.length,
    },
    float: r.plan.float,
    subgraphs: r.plan.subgraphs,
    validation: r.validation ?? null,
    ...(r.mixedPrecision ? { mixedPrecision: r.mixedPrecision } : {}),
    ...(r.methods ? { methods: r.methods } : {}),
    ...(r.easyQuant ? { easyQuant: easyQuantSummary(r.easyQuant) } : {}),
    ...(r.adaRound ? { adaRound: r.adaRound } : {}),
    timings: r.timings,
    warnings: r.warnings,
    notes: r.notes,
  };
}

/** EasyQuant in --json: counts and times, and the layers left as calibrated (the per-layer cosines are in the library's report). */
function easyQuantSummary(e: NonNullable<QuantizeFileResult['easyQuant']>) {
  return { layers: e.layers.length, steps: e.steps, samples: e.samples, skipped: e.skipped, totalMs: e.totalMs, msPerLayer: e.msPerLayer, collectMs: e.collectMs, searchMs: e.searchMs };
}

function textSummary(input: string, r: QuantizeFileResult): string {
  const lines: string[] = [];
  const ratio = r.bytes.output / r.bytes.input;
  lines.push(`onnxq: ${input} → ${r.files.model}${r.files.data ? ` (+ ${r.files.data})` : ''}`);
  lines.push(`  target ${r.plan.target}; opset ${r.prepare.opset.from}${r.prepare.opset.to !== r.prepare.opset.from ? ` → ${r.prepare.opset.to}` : ''}; calibrated on ${r.samples.calibration} samples in ${formatMs(r.timings.calibrateMs)}`);
  lines.push(`  size ${formatBytes(r.bytes.input)} → ${formatBytes(r.bytes.output)} (${(ratio * 100).toFixed(0)} %)`);
  lines.push(
    `  quantized ${r.export.quantizedWeights} weights, ${r.export.quantizedBiases} biases, ${r.export.quantizedActivations} activations; ${r.export.foldedActivations.length} Relu/Clip folded into their producer`,
  );
  if (r.easyQuant) {
    const e = r.easyQuant;
    lines.push(
      `  EasyQuant searched ${e.layers.length} layer${e.layers.length === 1 ? '' : 's'} (${e.steps} steps, ${e.samples} samples) in ${formatMs(e.totalMs)}, ${formatMs(e.msPerLayer)} per layer` +
        (e.skipped.length ? `; left ${e.skipped.length} as calibrated (${countList(e.skipped.map((s) => s.reason))})` : ''),
    );
  }
  if (r.adaRound) lines.push(...adaRoundLines(r.adaRound));
  if (r.validation) {
    const n = r.validation.samples;
    lines.push(`  validation on ${n} held-out sample${n === 1 ? '' : 's'}${r.samples.shared ? ' (the calibration sample itself)' : ''}:`, ...validationLines(r.validation));
  }
  if (r.methods) lines.push(...methodLines(r.methods));
  if (r.mixedPrecision) lines.push(...mixedPrecisionLines(r.mixedPrecision));
  lines.push(...widthLines(r.plan));
  if (r.plan.float.length) lines.push(`  left in float: ${countList(r.plan.float.map((f) => (f.reason === 'no quantization rule' ? f.op : `${f.op} (${f.reason})`)))}`);
  for (const s of r.plan.subgraphs) lines.push(`  left in float: the ${s.nodes} nodes inside ${s.op} '${s.node}' (static quantization covers the top-level graph)`);
  if (r.biasCorrection) lines.push(`  corrected the biases of ${r.biasCorrection.layers} layers on ${r.biasCorrection.samples} samples (largest shift ${(r.biasCorrection.largestShift * 100).toFixed(1)} % of a layer's largest bias) in ${formatMs(r.biasCorrection.ms)}`);
  if (r.prepare.layersEqualized) lines.push(`  equalized ${r.prepare.layersEqualized} pairs of layers (cross-layer equalization)`);
  if (r.export.keptActivations.length) lines.push(`  kept ${r.export.keptActivations.length} Relu/Clip whose removal would not have been exact`);
  if (r.export.adjustedWeightChannels) lines.push(`  enlarged ${r.export.adjustedWeightChannels} weight-channel scales so that int32 biases do not overflow`);
  for (const f of [r.files.plan, r.files.ranges, r.files.calibCache, r.files.report]) if (f) lines.push(`  wrote ${f}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push(`  done in ${formatMs(r.timings.totalMs)}`);
  return lines.map(printable).join('\n') + '\n';
}

/** AdaRound: what was reconstructed, on what, in how long, and the units' output SQNR before and after. */
function adaRoundLines(a: AdaRoundReport): string[] {
  const unit = a.reconstruct === 'block' ? 'block' : 'layer';
  const n = a.units.length;
  const learned = a.units.filter((u) => u.learned);
  const mean = (f: (u: AdaRoundReport['units'][number]) => number) => a.units.reduce((s, u) => s + f(u), 0) / Math.max(1, n);
  const lines = [
    `  AdaRound reconstructed ${n} ${unit}${n === 1 ? '' : 's'} (${a.iterations} steps of ${a.batchSize}, ${a.samples} samples) in ${formatMs(a.totalMs)}, ${formatMs(a.totalMs / Math.max(1, n))} per ${unit}`,
    `    ${unit} output SQNR on the calibration samples, mean: round to nearest ${formatDb(mean((u) => u.sqnrBefore))} → learned ${formatDb(mean((u) => u.sqnrAfter))}; ` +
      `${(100 * mean((u) => u.flipped)).toFixed(1)} % of the weights rounded the other way` +
      (learned.length < n ? `; ${n - learned.length} kept round to nearest (it reconstructed better)` : ''),
  ];
  if (a.split.length) lines.push(`    ${a.split.length} block${a.split.length === 1 ? '' : 's'} reconstructed layer by layer: no backward rule for ${a.split.join(', ')}`);
  return lines;
}

/** What the mixed-precision search took out of int8, what each step bought and cost. */
function mixedPrecisionLines(mp: MixedPrecisionReport): string[] {
  const fmt = (v: number) => (mp.budget.includes('top-1') ? `${(v * 100).toFixed(2)} %` : mp.budget.includes('dB') ? formatDb(v) : v.toPrecision(4));
  const lines = [`  mixed precision: budget ${mp.budget}; full int8 ${fmt(mp.start)}`];
  if (!mp.steps.length && mp.met) return [...lines, '    the budget holds at full int8: nothing taken out of int8'];
  let taken = 0;
  for (const s of mp.steps) {
    taken += s.nodes.length;
    lines.push(`    ${taken} out of int8 → ${fmt(s.metric)}, ${formatMs(s.latencyMs)} per sample: + ${s.nodes.join(', ')}`);
  }
  lines.push(
    mp.met
      ? `    met with ${taken} tensor${taken === 1 ? '' : 's'} in float; latency ${formatMs(mp.latencyMs.written)} (int8 ${formatMs(mp.latencyMs.int8)}, float ${formatMs(mp.latencyMs.float)})`
      : `    the budget cannot be met: even with ${taken} tensors in float the best reached ${fmt(mp.end)}; wrote that model (${formatMs(mp.latencyMs.written)} per sample)`,
  );
  return lines;
}

/** `--method all`: every method side by side, the one written marked. */
function methodLines(rows: MethodComparison[]): string[] {
  const top1 = rows.some((r) => r.top1 !== undefined);
  const lines = [`  methods compared on the held-out samples (one calibration; time = ranges, search and export):`];
  for (const r of rows)
    lines.push(
      `    ${r.chosen ? '→' : ' '} ${r.method.padEnd(14)} SQNR ${formatDb(r.sqnr).padEnd(8)} cosine ${r.cosine.toFixed(5)}${top1 ? `  top-1 ${r.top1 === undefined ? '–' : `${(r.top1 * 100).toFixed(1)} %`}` : ''}  ${formatMs(r.ms)}`,
    );
  lines.push(`    wrote the ${rows.find((r) => r.chosen)!.method} model (${top1 ? 'highest top-1 agreement, then SQNR' : 'highest output SQNR'})`);
  return lines;
}

/** Widths other than the types' own: what the model simulates, and what 4-bit storage means for speed. */
export function widthLines(plan: QuantPlan): string[] {
  const lines: string[] = [];
  const entries = [...Object.values(plan.activations).map((e) => ['activations', e] as const), ...Object.values(plan.weights).map((e) => ['weights', e] as const)];
  const seen = new Set<string>();
  for (const [kind, e] of entries) {
    const key = `${kind} ${e.dtype} ${e.bits ?? ''}`;
    if (seen.has(key) || !e.params || e.params.state === 'float') continue;
    seen.add(key);
    if (e.bits !== undefined && e.bits < bitsOf(e.dtype)) {
      const { qmin, qmax } = qrange({ ...e, bits: e.bits });
      lines.push(
        kind === 'weights'
          ? `  weights: ${e.bits}-bit values stored as ${e.dtype} (${qmin}…${qmax}): the model simulates ${e.bits}-bit arithmetic`
          : `  activations: ${e.bits}-bit steps held in ${e.dtype} (${qmin}…${qmax} over the calibrated range; a value beyond it saturates at ${e.dtype}'s limit, not at ${qmax})`,
      );
    } else if (bitsOf(e.dtype) === 4) lines.push(`  ${kind}: stored as ${e.dtype} (opset 21); onnxruntime has no 4-bit integer kernels on CPU and dequantizes them: smaller, not faster`);
  }
  return lines;
}
