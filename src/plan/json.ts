/**
 * Reading a plan a user saved and perhaps edited (`--plan plan.json`). `parsePlan` checks its form
 * (types, methods, ranges); `checkPlan` checks it against the prepared model (every name exists, every
 * fold and bias fits its node). A wrong entry gets an error that names it.
 */
import { fail } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { bitsOf, effectiveBits, QUANT_TYPES, typeRange, type QuantType } from '../quant/spec.js';
import { RANGE_METHOD_NAMES } from '../calibrate/observer.js';
import { PLAN_FORMAT, type ParamState, type QuantPlan, type Resolved } from './plan.js';
import { TARGETS } from './targets.js';

const bad = (source: string, what: string): never =>
  fail('BAD_PLAN', `${source}: ${what}. Save a fresh plan with --save-plan and edit that.`);

/** A type static quantization writes, and `bits` (if any) that fit in it. */
function checkType(source: string, what: string, dtype: QuantType, bits?: number): void {
  if (!QUANT_TYPES.includes(dtype)) bad(source, `${what} has dtype "${dtype}"; use one of ${QUANT_TYPES.join(', ')}`);
  if (bits !== undefined && !(Number.isInteger(bits) && bits >= 2 && bits <= bitsOf(dtype))) bad(source, `${what} has bits ${bits}; ${dtype} holds 2 to ${bitsOf(dtype)}`);
}

export function parsePlan(text: string, source: string): QuantPlan {
  let plan: QuantPlan;
  try {
    plan = JSON.parse(text) as QuantPlan;
  } catch (e) {
    fail('BAD_PLAN', `${source} is not valid JSON: ${(e as Error).message}.`, e);
  }
  // Format 1 had no parameters; it reads as format 2 with every entry still to resolve.
  if (plan?.format !== PLAN_FORMAT && plan?.format !== ('onnxq-plan/1' as string)) bad(source, `"format" must be "${PLAN_FORMAT}"`);
  plan.format = PLAN_FORMAT;
  if (!(plan.target in TARGETS)) bad(source, `unknown target "${plan.target}"`);
  plan.activations ??= {};
  plan.weights ??= {};
  plan.biases ??= {};
  plan.folded ??= [];
  plan.float ??= [];
  plan.subgraphs ??= [];
  for (const [name, e] of Object.entries(plan.activations)) {
    checkType(source, `activation "${name}"`, e.dtype, e.bits);
    const sources = [e.method !== undefined, e.sameAs !== undefined, e.range !== undefined].filter(Boolean).length;
    if (sources !== 1) bad(source, `activation "${name}" needs exactly one of "method", "sameAs" or "range"`);
    if (e.method !== undefined && !(RANGE_METHOD_NAMES as readonly string[]).includes(e.method))
      bad(source, `activation "${name}" has method "${e.method}"; use one of ${RANGE_METHOD_NAMES.join(', ')}`);
    const root = e.sameAs !== undefined ? plan.activations[e.sameAs] : undefined;
    if (e.sameAs !== undefined && !root) bad(source, `activation "${name}" shares "${e.sameAs}", which has no entry`);
    if (root && (root.dtype !== e.dtype || root.symmetric !== e.symmetric)) bad(source, `activation "${name}" shares the parameters of "${e.sameAs}" but not its dtype and symmetry`);
    if (e.params) checkParams(source, `activation "${name}"`, e.params, e, 1);
    if (e.range !== undefined) {
      const [lo, hi] = Array.isArray(e.range) ? e.range : [];
      if (e.range.length !== 2 || !Number.isFinite(lo) || !Number.isFinite(hi) || !(hi! > lo!))
        bad(source, `activation "${name}" has range ${JSON.stringify(e.range)}; write [min, max] with min < max`);
    }
  }
  for (const [name, e] of Object.entries(plan.weights)) {
    checkType(source, `weight "${name}"`, e.dtype, e.bits);
    if (e.method !== 'minmax' && e.method !== 'admm') bad(source, `weight "${name}" has method "${e.method}"; use minmax or admm`);
    if (e.params) checkParams(source, `weight "${name}"`, e.params, e);
  }
  return plan;
}

const STATES: readonly ParamState[] = ['calibrated', 'searched', 'trained', 'float'];

/** Parameters as written: positive finite scales, integer zero points the type holds, one of each per channel. */
function checkParams(source: string, what: string, p: Resolved, e: { dtype: QuantType; symmetric: boolean; reduceRange?: boolean; bits?: number }, channels?: number): void {
  if (!STATES.includes(p.state)) bad(source, `${what} has state "${p.state}"; use one of ${STATES.join(', ')}`);
  const bits = effectiveBits(e);
  if (p.bits !== bits) bad(source, `${what} has bits ${p.bits}, but its entry uses ${bits}`);
  const { qmin, qmax } = typeRange(e.dtype);
  if (!Array.isArray(p.scale) || !Array.isArray(p.zeroPoint) || p.scale.length === 0 || p.scale.length !== p.zeroPoint.length)
    bad(source, `${what} needs "scale" and "zeroPoint" arrays of one length`);
  if (channels !== undefined && p.scale.length !== channels) bad(source, `${what} has ${p.scale.length} scales where it takes ${channels}`);
  if (!p.scale.every((s) => Number.isFinite(s) && s > 0)) bad(source, `${what} has a scale that is not a positive finite number`);
  if (!p.zeroPoint.every((z) => Number.isInteger(z) && z >= qmin && z <= qmax)) bad(source, `${what} has a zero point outside ${e.dtype}'s ${qmin}…${qmax}`);
}

/** Checks a plan's names and structure against the prepared graph it will be applied to. */
export function checkPlan(plan: QuantPlan, graph: Graph, source: string): void {
  const fed = new Set(graph.inputs.map((v) => v.name));
  for (const [name, e] of Object.entries(plan.activations)) {
    if (!graph.producer(name) && !fed.has(name)) bad(source, `activation "${name}" is not a value of the model`);
    for (const use of e.at ?? []) {
      const node = graph.node(use.node);
      if (!node || node.input[use.input] !== name) bad(source, `activation "${name}" is quantized where node "${use.node}" reads input ${use.input}, which it does not`);
    }
  }
  for (const [name, e] of Object.entries(plan.weights)) {
    const t = graph.constant(name);
    if (!t) bad(source, `weight "${name}" is not a constant of the model`);
    if (e.axis !== undefined && (!Number.isInteger(e.axis) || e.axis < 0 || e.axis >= t!.dims.length))
      bad(source, `weight "${name}" has ${t!.dims.length} dimensions; axis ${e.axis} does not exist`);
    const channels = e.axis === undefined ? 1 : Number(t!.dims[e.axis]);
    if (e.params && e.params.scale.length !== channels) bad(source, `weight "${name}" has ${e.params.scale.length} scales where ${e.axis === undefined ? 'a per-tensor weight takes 1' : `axis ${e.axis} has ${channels} channels`}`);
  }
  for (const [name, b] of Object.entries(plan.biases)) {
    const node = graph.node(b.node);
    if (!graph.constant(name)) bad(source, `bias "${name}" is not a constant of the model`);
    if (!node || !node.input.includes(name)) bad(source, `bias "${name}" belongs to node "${b.node}", which does not read it`);
    if (!plan.weights[b.weight] || !node!.input.includes(b.weight)) bad(source, `bias "${name}" names weight "${b.weight}", which node "${b.node}" does not read or the plan does not quantize`);
    if (node!.input[0] !== b.input) bad(source, `bias "${name}" names input "${b.input}", but node "${b.node}" reads "${node!.input[0]}"`);
  }
  for (const f of plan.folded) {
    const node = graph.node(f.node);
    if (!node || (node.opType !== 'Relu' && node.opType !== 'Clip') || node.input[0] !== f.input || node.output[0] !== f.output)
      bad(source, `folded entry for "${f.node}" does not describe a Relu or Clip reading "${f.input}" and writing "${f.output}"`);
    if (graph.consumers(f.input).length !== 1) bad(source, `"${f.node}" cannot be folded: other nodes read "${f.input}" too`);
    if (!plan.activations[f.output]) bad(source, `folded "${f.node}" needs an activation entry for its output "${f.output}"`);
  }
}
