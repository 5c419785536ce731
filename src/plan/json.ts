/**
 * Reading a plan a user saved and perhaps edited (`--plan plan.json`): every name must exist in the
 * model and every value must be one onnxq understands, or the error says which entry is wrong.
 */
import { fail } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { QUANT_TYPES } from '../quant/spec.js';
import { RANGE_METHOD_NAMES } from '../calibrate/observer.js';
import type { QuantPlan } from './plan.js';
import { TARGETS } from './targets.js';

export function parsePlan(text: string, source: string, graph: Graph): QuantPlan {
  let plan: QuantPlan;
  try {
    plan = JSON.parse(text) as QuantPlan;
  } catch (e) {
    fail('BAD_PLAN', `${source} is not valid JSON: ${(e as Error).message}.`, e);
  }
  const bad = (what: string): never => fail('BAD_PLAN', `${source}: ${what}. Save a fresh plan with --save-plan and edit that.`);
  if (plan?.format !== 'onnxq-plan/1') bad(`"format" must be "onnxq-plan/1"`);
  if (!(plan.target in TARGETS)) bad(`unknown target "${plan.target}"`);
  plan.activations ??= {};
  plan.weights ??= {};
  plan.biases ??= {};
  plan.folded ??= [];
  plan.float ??= [];
  plan.subgraphs ??= [];
  const values = new Set<string>([...graph.inputs.map((v) => v.name)]);
  for (const n of graph.nodes) for (const o of n.output) if (o) values.add(o);
  const nodes = new Set(graph.nodes.map((n) => n.name));
  for (const [name, e] of Object.entries(plan.activations)) {
    if (!values.has(name)) bad(`activation "${name}" is not a value of the model`);
    if (!QUANT_TYPES.includes(e.dtype)) bad(`activation "${name}" has dtype "${e.dtype}"; use one of ${QUANT_TYPES.join(', ')}`);
    const sources = [e.method !== undefined, e.sameAs !== undefined, e.range !== undefined].filter(Boolean).length;
    if (sources !== 1) bad(`activation "${name}" needs exactly one of "method", "sameAs" or "range"`);
    if (e.method !== undefined && !RANGE_METHOD_NAMES.includes(e.method)) bad(`activation "${name}" has method "${e.method}"; use one of ${RANGE_METHOD_NAMES.join(', ')}`);
    if (e.sameAs !== undefined && !plan.activations[e.sameAs]) bad(`activation "${name}" shares "${e.sameAs}", which has no entry`);
    if (e.range !== undefined && !(Array.isArray(e.range) && e.range.length === 2 && e.range[0] <= e.range[1])) bad(`activation "${name}" has range ${JSON.stringify(e.range)}; write [min, max]`);
    for (const use of e.at ?? []) if (!nodes.has(use.node)) bad(`activation "${name}" is quantized at node "${use.node}", which does not exist`);
  }
  for (const [name, e] of Object.entries(plan.weights)) {
    if (!graph.constant(name)) bad(`weight "${name}" is not a constant of the model`);
    if (!QUANT_TYPES.includes(e.dtype)) bad(`weight "${name}" has dtype "${e.dtype}"`);
    if (e.method !== 'minmax' && e.method !== 'admm') bad(`weight "${name}" has method "${e.method}"; use minmax or admm`);
  }
  for (const [name, b] of Object.entries(plan.biases)) {
    if (!graph.constant(name)) bad(`bias "${name}" is not a constant of the model`);
    if (!nodes.has(b.node)) bad(`bias "${name}" belongs to node "${b.node}", which does not exist`);
  }
  for (const f of plan.folded) if (!nodes.has(f.node)) bad(`folded node "${f.node}" does not exist`);
  return plan;
}
