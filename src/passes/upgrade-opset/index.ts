/**
 * upgradeOpset: moves a model's default-domain ops to a newer opset, so that e.g. per-channel
 * QuantizeLinear (opset 13) can be used on a model exported at opset 9. Each node walks its op's
 * schema history (table.ts) one changed version at a time, from the model's opset to the target,
 * and is rewritten by the adapter of each breaking change (one file per op family in this folder),
 * in the main graph and in every If/Loop/Scan body. Ops that cannot be converted are all named in
 * one UNSUPPORTED_OP error.
 */
import type { ModelProto, NodeProto } from 'onnx-buf';
import { fail } from '../../errors.js';
import { irVersionForOpset, normalDomain, opsetVersion } from '../../ir/model.js';
import { describeNode, hasSubgraphs, isStandard } from '../../ir/node.js';
import { Constants, Cx, Refusal } from './context.js';
import { Graph } from '../../ir/graph.js';
import { Scope } from '../../ir/scope.js';
import { EXPERIMENTAL_REPLACEMENTS } from './experimental.js';
import { EXPERIMENTAL, HISTORY, LEGACY_ATTRIBUTES, MAX_TARGET_OPSET, MIN_SOURCE_OPSET, REWRITES } from './table.js';

export { HISTORY, REWRITES, MAX_TARGET_OPSET, MIN_SOURCE_OPSET } from './table.js';

export interface UpgradeReport {
  /** The model's default-domain opset before. */
  from: number;
  /** Its opset now (unchanged when it already was at or above the target). */
  to: number;
  /** Nodes that had to be rewritten (not merely relabelled), per original op type, sorted by op. */
  changed: { op: string; count: number }[];
}

/** How many unconvertible nodes the error lists before summing up the rest. */
const LISTED = 25;

/**
 * Upgrades `model` in place to default-domain opset `target` (at most MAX_TARGET_OPSET) and raises
 * its IR version to what that opset needs. Never lowers anything: a model already at or above the
 * target is returned as it is. On an UNSUPPORTED_OP error the model may be partly converted, so
 * callers pass a copy.
 */
export function upgradeOpset(model: ModelProto, target: number, graph?: Graph): UpgradeReport {
  if (!Number.isInteger(target) || target < 1)
    fail('BAD_OPTION', `the target opset must be a positive integer, not ${target}.`);
  if (!model.graph) fail('BAD_MODEL', 'the model has no graph, so there is nothing to upgrade.');
  const from = opsetVersion(model, '');
  if (from === 0 || from >= target) return { from, to: from, changed: [] };
  if (target > MAX_TARGET_OPSET)
    fail(
      'BAD_OPTION',
      `onnxq knows the ONNX operator changes up to opset ${MAX_TARGET_OPSET}, so it cannot upgrade to opset ${target}. ` +
        `Choose a target of ${MAX_TARGET_OPSET} or lower.`,
    );
  if (from < MIN_SOURCE_OPSET)
    fail(
      'UNSUPPORTED_OP',
      `the model uses opset ${from}; onnxq upgrades models from opset ${MIN_SOURCE_OPSET} on (the oldest that onnxruntime runs). ` +
        `Re-export the model with a newer exporter at opset ${target} or later.`,
    );

  const main = graph ?? new Graph(model.graph);
  const run = new Upgrade(from, target, main);
  run.convertGraph(main);
  if (run.problems.length) {
    const shown = run.problems.slice(0, LISTED);
    if (run.problems.length > LISTED) shown.push(`… and ${run.problems.length - LISTED} more`);
    fail(
      'UNSUPPORTED_OP',
      `cannot upgrade the model from opset ${from} to ${target}: ${run.problems.length} node(s) cannot be converted: ` +
        `${shown.join('; ')}. ` +
        `Re-export the model from its framework with a newer exporter at opset ${target} or later ` +
        `(e.g. torch.onnx.export(..., opset_version=${target}), paddle2onnx --opset_version ${target}, tf2onnx --opset ${target}), ` +
        'or replace these ops with standard ones first.',
    );
  }

  for (const e of model.opsetImport) if (normalDomain(e.domain) === '') e.version = BigInt(target);
  // Rewrites start at opset 9 (IR 4), so new initializers never need listing among the inputs as IR 3 wanted.
  const ir = BigInt(irVersionForOpset(target));
  if (model.irVersion < ir) model.irVersion = ir;

  const changed = [...run.counts].map(([op, count]) => ({ op, count })).sort((a, b) => (a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
  return { from, to: target, changed };
}

class Upgrade {
  readonly problems: string[] = [];
  readonly counts = new Map<string, number>();
  private where = '';
  private readonly constants: Constants;

  constructor(
    readonly from: number,
    readonly target: number,
    private readonly main: Graph,
  ) {
    this.constants = new Constants(main, main.names);
  }

  /** Converts every default-domain node of a graph, then the graphs its nodes hold. */
  convertGraph(graph: Graph, parent?: Scope): void {
    const scope = new Scope(graph, parent);
    const saved = this.where;
    this.where = parent ? ` (in subgraph '${graph.proto.name || '?'}')` : '';
    // Initializers read before the conversion: those no node reads after it were replaced by rewritten copies.
    const read = new Set(graph.proto.initializer.filter((t) => graph.consumers(t.name).length > 0 || graph.isGraphOutput(t.name)).map((t) => t.name));
    for (const node of [...graph.nodes]) {
      if (!isStandard(node)) continue;
      if (this.upgradeNode(node, this.from, scope)) this.counts.set(node.opType, (this.counts.get(node.opType) ?? 0) + 1);
    }
    for (const n of [...graph.nodes]) {
      if (!hasSubgraphs(n)) continue;
      for (const a of n.attribute) {
        if (a.g) this.convertGraph(new Graph(a.g, this.main.names), scope);
        for (const sub of a.graphs) this.convertGraph(new Graph(sub, this.main.names), scope);
      }
      graph.refresh(n);
    }
    for (const name of read) if (graph.consumers(name).length === 0 && !graph.isGraphOutput(name)) graph.removeInitializer(name);
    graph.commit();
    this.where = saved;
  }

  /** Brings one node written at opset `at` to the target, in place or by nodes put where it was; true if it changed. */
  private upgradeNode(node: NodeProto, at: number, scope: Scope): boolean {
    const op = node.opType;
    const versions = HISTORY[op];
    const replace = EXPERIMENTAL_REPLACEMENTS[op];
    if (replace && !versions) {
      let nodes: NodeProto[];
      try {
        nodes = replace(node, this.cx(scope, at));
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        this.problem(node, e.message);
        return false;
      }
      this.replaceBy(node, nodes, at, scope);
      return true;
    }
    if (!versions || versions[0]! > at) {
      this.problem(node, unknownOp(op, at, versions));
      return false;
    }
    const rewrites = REWRITES[op] ?? {};
    let current = versions.filter((v) => v <= at).pop()!;
    let changed = false;
    for (const v of versions) {
      if (v <= at || v > this.target) continue;
      const step = rewrites[v];
      const change = `${op}-${current} → ${op}-${v}`;
      current = v;
      if (step === undefined) continue;
      if (typeof step === 'string') {
        this.problem(node, `${change}: ${step}; onnxq has no rewrite for it`);
        return changed;
      }
      let result;
      try {
        result = step(node, this.cx(scope, v));
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        this.problem(node, `${change}: ${e.message}`);
        return changed;
      }
      if (result === 'same') continue;
      changed = true;
      if (Array.isArray(result)) {
        this.replaceBy(node, result, v, scope);
        return changed;
      }
      scope.graph.refresh(node); // the adapter edited it in place
    }
    return dropLegacyAttributes(node, current) || changed;
  }

  /** Puts an adapter's nodes where `node` was, and brings each (written at opset `at`) on to the target. */
  private replaceBy(node: NodeProto, nodes: NodeProto[], at: number, scope: Scope): void {
    scope.graph.replaceNode(node, nodes);
    for (const n of nodes) this.upgradeNode(n, at, scope);
  }

  private cx(scope: Scope, version: number): Cx {
    return new Cx(scope, this.constants, this.main.names, version, this.target);
  }

  private problem(node: NodeProto, text: string): void {
    this.problems.push(`${describeNode(node)}${this.where}: ${text}`);
  }
}

/** Removes attributes the node's schema at `version` no longer has; true if any were there. */
function dropLegacyAttributes(node: NodeProto, version: number): boolean {
  const drop = LEGACY_ATTRIBUTES.filter(
    (l) => version >= l.removedAt && (!l.ops || l.ops.includes(node.opType)) && node.attribute.some((a) => a.name === l.attr),
  );
  if (drop.length === 0) return false;
  node.attribute = node.attribute.filter((a) => !drop.some((l) => l.attr === a.name));
  return true;
}

function unknownOp(op: string, at: number, versions: readonly number[] | undefined): string {
  if (EXPERIMENTAL.has(op) && (!versions || versions[0]! > at))
    return `${op} is an experimental op of ONNX 1.4 and earlier, removed from the standard; no opset ${at} or later defines it this way`;
  if (versions) return `${op} does not exist at opset ${at} (it was added in opset ${versions[0]}), so the model's opset import is wrong`;
  return `${op} is not an op of the default ONNX domain (a custom op missing its domain, or a misspelt name)`;
}
