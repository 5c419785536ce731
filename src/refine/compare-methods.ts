/**
 * `--method all`: one calibration, a model per method, each measured on the same held-out samples
 * against the float model's outputs (computed once); the best is kept. Best = the highest top-1
 * agreement on class-score outputs where the model has them, then the highest output SQNR (the
 * lowest over the outputs, so that no output is sacrificed to another).
 */
import type { ModelProto } from 'onnx-buf';
import type { MethodComparison } from '../analyze/report.js';
import { ReferenceOutputs, type ValidationReport } from '../analyze/validate.js';
import { fail } from '../errors.js';
import type { RunnerOptions } from '../runtime/runner.js';
import type { Calibration, QuantizeResult } from '../quantize.js';
import type { MethodName } from './methods.js';

export interface ComparedMethods {
  result: QuantizeResult;
  rows: MethodComparison[];
}

export async function compareMethods(
  cal: Calibration,
  floatModel: ModelProto | string,
  methods: readonly MethodName[],
  quantizeWith: (method: MethodName) => Promise<QuantizeResult>,
  options: { runner?: RunnerOptions; onMethod?: (method: MethodName, done: number, total: number) => void } = {},
): Promise<ComparedMethods> {
  if (cal.selection.heldOut.length === 0) fail('BAD_OPTION', '--method all compares the methods on held-out samples: leave validation on (drop --no-validate).');
  const reference = await ReferenceOutputs.of(floatModel, cal.source, cal.selection.heldOut, { runner: options.runner, classOutputs: cal.classOutputs });
  let best: { result: QuantizeResult; score: [number, number]; method: MethodName } | undefined;
  const rows: MethodComparison[] = [];
  for (const [i, method] of methods.entries()) {
    options.onMethod?.(method, i, methods.length);
    const t = performance.now();
    const result = await quantizeWith(method);
    const ms = performance.now() - t;
    const validation = await reference.compare(result.model, `the ${method} model`);
    result.validation = validation;
    const score = scoreOf(validation, cal.classOutputs);
    rows.push({ method, sqnr: score[1], cosine: Math.min(...validation.outputs.map((o) => o.cosine)), ...(cal.classOutputs.size ? { top1: score[0] } : {}), ms, chosen: false });
    if (!best || score[0] > best.score[0] || (score[0] === best.score[0] && score[1] > best.score[1])) best = { result, score, method };
  }
  rows.find((r) => r.method === best!.method)!.chosen = true;
  return { result: best!.result, rows };
}

/** [lowest top-1 agreement over class outputs (−1 without any; a non-finite one counts −∞), lowest SQNR over the outputs]. */
function scoreOf(v: ValidationReport, classOutputs: ReadonlySet<string>): [number, number] {
  const top1 = v.outputs.filter((o) => classOutputs.has(o.name)).map((o) => o.top1 ?? -Infinity);
  const sqnr = v.outputs.map((o) => (Number.isNaN(o.sqnr) ? -Infinity : o.sqnr));
  return [top1.length ? Math.min(...top1) : -1, sqnr.length ? Math.min(...sqnr) : -Infinity];
}
