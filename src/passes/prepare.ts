/**
 * The passes every model goes through before calibration, in order: treat initializers listed as
 * inputs as constants, move Constant nodes into initializers, fold Reshape/Transpose of constants, upgrade to the opset quantization needs, name unnamed nodes, drop Identity/Dropout, fold
 * BatchNormalization and constant Mul/Add into the Conv before them, fuse hand-written hard-swish, remove what nothing reads, and sort. Graph inputs and outputs keep their names.
 * For onnxruntime's integer kernels (static quantization, ort-qdq target), a ConvTranspose whose kernel equals its stride first becomes a 1×1 Conv and a DepthToSpace.
 */
import { clone, create } from '@bufbuild/protobuf';
import { GraphProtoSchema, NodeProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { NameSet } from '../ir/names.js';
import { Graph } from '../ir/graph.js';
import { opsetVersion } from '../ir/model.js';
import { constantsToInitializers } from './constants-to-initializers.js';
import { foldConstantReshapes } from './fold-constant-reshapes.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { initializersNotInputs } from './initializers-not-inputs.js';
import { foldConvAffine } from './fold-conv-affine.js';
import { convTransposeAsConv } from './convtranspose-as-conv.js';
import { findHardSwish, fuseHardSwish } from './fuse-hardswish.js';
import { nameNodes } from './name-nodes.js';
import { removeIdentities } from './remove-identity.js';
import { upgradeOpset, type UpgradeReport } from './upgrade-opset/index.js';

/** QuantizeLinear/DequantizeLinear with a per-channel `axis` exist from opset 13. */
export const MIN_QUANT_OPSET = 13;

export interface PrepareReport {
  opset: { from: number; to: number };
  upgrade?: UpgradeReport;
  constantsMoved: number;
  /** Reshape/Transpose nodes of a constant replaced by the constant they compute. */
  constantReshapesFolded: number;
  /** Initializers that were also listed as graph inputs (IR 3 exports), now plain constants. */
  initializerInputsDropped: number;
  identitiesRemoved: number;
  batchNormsFolded: number;
  affinesFolded: number;
  hardSwishFused: number;
  /** ConvTranspose (kernel = stride) made 1×1 Conv + DepthToSpace (with convTransposeAsConv; see convtranspose-as-conv.ts). */
  convTransposesAsConv: number;
  nodesRemoved: number;
  /** MatMul + bias Add made Gemm (static quantization only; see fuse-matmul-bias.ts). */
  matmulBiasFused?: number;
  /** Layer pairs equalized (static quantization with equalize; see equalize.ts). */
  layersEqualized?: number;
}

export interface PrepareOptions {
  minOpset?: number;
  /**
   * Rewrite the graph (drop Identity/Dropout, fold BatchNorm and affines, fuse hard-swish; default
   * true). Without it every tensor of the float model keeps its name.
   */
  rewrite?: boolean;
  /**
   * Also keep the graph as it was before rewriting (opset upgraded, nodes named), for what is keyed by
   * the float model's own tensor names: a TensorRT calibration cache. Its weights are shared, not copied.
   */
  keepReference?: boolean;
  /**
   * Which ConvTransposes whose kernel equals their stride to rewrite as a 1×1 Conv + DepthToSpace (default
   * none): for onnxruntime, which has an integer Conv but no integer ConvTranspose. TensorRT quantizes
   * ConvTranspose itself.
   */
  convTransposeAsConv?: (node: NodeProto) => boolean;
}

export interface Prepared {
  graph: Graph;
  report: PrepareReport;
  /** The graph before rewriting, with what nothing reads removed (with `keepReference`). */
  reference?: Graph;
}

/** Prepares `model` in place (pass a copy) and returns its indexed graph. */
export function prepareGraph(model: ModelProto, options: PrepareOptions = {}): Prepared {
  const minOpset = options.minOpset ?? MIN_QUANT_OPSET;
  const graph = new Graph(model.graph!);
  const from = opsetVersion(model);
  const initializerInputsDropped = initializersNotInputs(graph);
  // IR 3 wanted every initializer listed among the inputs; IR 4 (any opset) lets constants be constants.
  if (model.irVersion < 4n) model.irVersion = 4n;
  const constantsMoved = constantsToInitializers(graph);
  const constantReshapesFolded = foldConstantReshapes(graph);
  const upgrade = from < minOpset ? upgradeOpset(model, minOpset, graph) : undefined;
  nameNodes(graph);
  const reference = options.keepReference ? snapshot(graph) : undefined;
  const rewrite = options.rewrite ?? true;
  const identitiesRemoved = rewrite ? removeIdentities(graph) : 0;
  // Before the folds: the BatchNorm and bias it moves next to the new Conv are theirs to fold.
  const convTransposesAsConv = rewrite && options.convTransposeAsConv ? convTransposeAsConv(graph, options.convTransposeAsConv) : 0;
  const batchNormsFolded = rewrite ? foldBatchNorm(graph) : 0;
  const affinesFolded = rewrite ? foldConvAffine(graph) : 0;
  // HardSwish exists from opset 14: upgrade when the model spells it out by hand.
  const hardSwish = rewrite ? findHardSwish(graph) : [];
  if (hardSwish.length && opsetVersion(model) < 14) upgradeOpset(model, 14, graph);
  const hardSwishFused = fuseHardSwish(graph, hardSwish.length ? findHardSwish(graph) : []);
  const nodesRemoved = graph.removeUnused();
  graph.sort();
  const report = { opset: { from, to: opsetVersion(model) }, upgrade, constantsMoved, constantReshapesFolded, initializerInputsDropped, identitiesRemoved, batchNormsFolded, affinesFolded, hardSwishFused, convTransposesAsConv, nodesRemoved };
  return { graph, report, ...(reference ? { reference } : {}) };
}

/** Prepares `model` in place (pass a copy) for quantization; returns what was done. */
export function prepareModel(model: ModelProto, options: PrepareOptions = {}): PrepareReport {
  return prepareGraph(model, options).report;
}

/** A copy of the graph's structure — its nodes cloned, its weights shared — with what nothing reads removed. */
function snapshot(graph: Graph): Graph {
  const p = graph.proto;
  graph.commit();
  const copy = create(GraphProtoSchema, {
    name: p.name,
    node: p.node.map((n) => clone(NodeProtoSchema, n)),
    initializer: [...p.initializer],
    input: [...p.input],
    output: [...p.output],
  });
  const reference = new Graph(copy, NameSet.of(copy));
  reference.removeUnused();
  reference.sort();
  return reference;
}
