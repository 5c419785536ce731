/**
 * buildTrainingGraph: one training step as an inference graph. From a float model (fake quantization
 * possibly inserted, fake-quant.ts) it builds a model whose inputs are the data, the targets and every
 * trainable tensor (moved from the initializers, so that each step feeds the current values), and whose
 * outputs are the loss and the gradient of each trainable: the forward pass, the loss, and the backward
 * pass written as ordinary ONNX ops, one rule per op type (rules.ts), gradients reaching a tensor from
 * several readers summed. onnxruntime runs it like any model.
 */
import { cloneModel } from '../onnx/external.js';
import type { ModelProto, NodeProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { DT } from '../onnx/dtype.js';
import { numel, tensorDims } from '../onnx/tensor.js';
import { attrInt, describeNode, isStandard, makeNode } from '../ir/node.js';
import { NameSet } from '../ir/names.js';
import { opsetVersion } from '../ir/model.js';
import { makeValueInfo, typeOf } from '../ir/types.js';
import { upgradeOpset } from '../passes/upgrade-opset/index.js';
import { Emitter } from './emit.js';
import { FAKE_QUANT_DOMAIN, isFakeQuant, lowerFakeQuant } from './backward/fake-quantize.js';
import { backwardRule } from './rules.js';

export type Loss = 'mse' | 'cross-entropy' | 'kl';

export interface TrainingGraphOptions {
  /** Initializers (or graph inputs) to train: weights, biases, quantization scales. */
  trainable: string[];
  /**
   * 'mse': mean of (prediction − target)² over every element (distillation from float outputs; the
   * target is a float tensor shaped like the prediction). 'cross-entropy': softmax cross-entropy of
   * logits [N, K] with int64 labels [N], averaged over the batch. 'kl': KL(p ‖ softmax(logits)) averaged
   * over the batch, p the teacher's distribution (distillation of a classifier, Hinton et al. 2015); the
   * target is the teacher's output as the model gives it: probabilities after a final Softmax, else logits.
   */
  loss: Loss;
  /** Name of the new graph input that takes the targets. */
  target: string;
  /** The prediction: a graph output (default: the first). For cross-entropy and KL, an output made by a Softmax over the classes stands for that Softmax's input, the logits. */
  output?: string;
  /** Static shape of every value, measured on a batch of the size trained with (measureShapes). */
  shapes: Map<string, number[]>;
  /** Also output the model's own outputs (to score accuracy while training). */
  keepOutputs?: boolean;
  /** Leave out (listed in `skipped`) trainable tensors no gradient reaches, rather than refuse them. */
  skipUntrainable?: boolean;
}

export interface TrainingGraph {
  model: ModelProto;
  /** Name of the loss output (a scalar). */
  loss: string;
  /** Per trainable tensor, the name of the output holding its gradient (grad_<name>). */
  gradients: Map<string, string>;
  /** With skipUntrainable: the tensors left out. */
  skipped: string[];
}

/** Ops whose outputs carry no gradient (integer or boolean results). */
const NO_GRADIENT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'NonZero']);

/** Training graphs run at opset ≥ 16 (ScatterElements with reduction, for MaxPool's gradient). */
export const TRAIN_OPSET = 16;

export function buildTrainingGraph(source: ModelProto, options: TrainingGraphOptions): TrainingGraph {
  const model = cloneModel(source);
  model.opsetImport = model.opsetImport.filter((o) => o.domain !== FAKE_QUANT_DOMAIN);
  if (opsetVersion(model) < TRAIN_OPSET) upgradeOpset(model, TRAIN_OPSET);
  const graph = model.graph!;
  const weights = new Map(graph.initializer.map((t) => [t.name, t]));
  const dataInputs = graph.input.filter((v) => !weights.has(v.name));
  let trainable = [...new Set(options.trainable)];
  for (const name of trainable) {
    const t = weights.get(name);
    const input = dataInputs.find((v) => v.name === name);
    if ((t && t.dataType !== DT.FLOAT) || (!t && (!input || typeOf(input)?.dtype !== DT.FLOAT)))
      fail('BAD_OPTION', `cannot train '${name}': it is not a float32 initializer or graph input of the model.`);
  }
  const named = options.output ?? graph.output[0]?.name;
  if (!named || !graph.output.some((o) => o.name === named)) fail('BAD_OPTION', `the prediction '${named ?? ''}' is not an output of the model.`);
  const output = options.loss === 'mse' ? named : logitsOf(graph.node, named, options.shapes);

  const shapes = new Map(options.shapes);
  for (const t of graph.initializer) shapes.set(t.name, tensorDims(t));
  for (const n of graph.node) if (isFakeQuant(n) && !shapes.has(n.output[0]!) && shapes.has(n.input[0]!)) shapes.set(n.output[0]!, shapes.get(n.input[0]!)!);

  const names = NameSet.of(graph);
  if (names.has(options.target)) fail('BAD_OPTION', `the target input '${options.target}' would reuse a name the model already has.`);
  names.add(options.target);
  const em = new Emitter(names, shapes, opsetVersion(model), weights);

  // Which values depend on a trainable tensor, and which lead to the prediction.
  const requires = new Set(trainable);
  for (const n of graph.node)
    if (!NO_GRADIENT.has(n.opType) && n.input.some((i) => requires.has(i))) for (const o of n.output) if (o) requires.add(o);
  const reaches = new Set([output]);
  for (const n of [...graph.node].reverse()) if (n.output.some((o) => reaches.has(o))) for (const i of n.input) if (i) reaches.add(i);
  const skipped: string[] = [];
  for (const name of trainable)
    if (!reaches.has(name)) {
      if (!options.skipUntrainable) fail('BAD_OPTION', `cannot train '${name}': the prediction '${output}' does not depend on it.`);
      skipped.push(name);
    }
  trainable = trainable.filter((name) => reaches.has(name));
  const path = graph.node.filter((n) => !NO_GRADIENT.has(n.opType) && n.input.some((i) => requires.has(i)) && n.output.some((o) => reaches.has(o)));
  const missing = path.filter((n) => !backwardRule(n));
  if (missing.length)
    fail('UNSUPPORTED_OP', `no backward rule for ${missing.slice(0, 5).map(describeNode).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}: the gradient of the loss must pass through ${missing.length === 1 ? 'it' : 'them'} to reach the trainable tensors. Train only tensors after ${missing.length === 1 ? 'it' : 'them'}, or replace the op.`);
  for (const n of path) backwardRule(n)!.prepare?.(n, em);

  // The forward pass: the model's nodes, FakeQuantize lowered to standard ops.
  const forward: NodeProto[] = [];
  for (const n of graph.node) {
    if (!isFakeQuant(n)) {
      forward.push(n);
      continue;
    }
    const start = em.nodes.length;
    lowerFakeQuant(n, em);
    forward.push(...em.nodes.splice(start));
  }

  const { loss, dPrediction, targetInput } = emitLoss(em, options, output, output !== named);

  // The backward pass, in reverse topological order.
  const contributions = new Map<string, string[]>([[output, [dPrediction]]]);
  const total = (name: string): string | undefined => {
    const parts = contributions.get(name);
    if (!parts?.length) return undefined;
    if (parts.length > 1) contributions.set(name, [em.op('Sum', parts)]);
    return contributions.get(name)![0];
  };
  for (const n of [...path].reverse()) {
    const dY = n.output.map((o) => (o ? total(o) : undefined));
    if (dY.every((d) => d === undefined)) continue;
    const wants = n.input.map((i) => !!i && requires.has(i));
    const grads = backwardRule(n)!.grad({ node: n, dY, wants, em });
    n.input.forEach((i, k) => {
      const g = grads[k];
      if (wants[k] && g) contributions.set(i, [...(contributions.get(i) ?? []), g]);
    });
  }

  const gradients = new Map<string, string>();
  const reached = trainable.filter((name) => {
    if (contributions.get(name)?.length) return true;
    if (!options.skipUntrainable)
      fail('BAD_OPTION', `cannot train '${name}': no gradient reaches it (it feeds the prediction only through inputs that are not differentiated, such as a BatchNormalization's statistics).`);
    skipped.push(name);
    return false;
  });
  const gradOutputs = reached.map((name) => {
    const g = total(name)!;
    const out = names.fresh(`grad_${name}`);
    em.nodes.push(identity(g, out, names.fresh('grad/identity')));
    gradients.set(name, out);
    return makeValueInfo(out, { dtype: DT.FLOAT, shape: shapes.get(name)! });
  });

  const isTrainable = new Set(reached);
  graph.node = [...forward, ...em.nodes];
  graph.initializer = [...graph.initializer.filter((t) => !isTrainable.has(t.name)), ...em.initializers];
  graph.input = [
    ...dataInputs,
    targetInput,
    ...reached.filter((name) => weights.has(name)).map((name) => makeValueInfo(name, { dtype: DT.FLOAT, shape: tensorDims(weights.get(name)!) })),
  ];
  graph.output = [makeValueInfo(loss, { dtype: DT.FLOAT, shape: [] }), ...gradOutputs, ...(options.keepOutputs ? graph.output : [])];
  graph.valueInfo = [];
  return { model, loss, gradients, skipped };
}

/**
 * Cross-entropy wants logits; a classifier whose output is a Softmax over its classes gives its input
 * instead (the loss applies its own softmax).
 */
function logitsOf(nodes: readonly NodeProto[], output: string, shapes: ReadonlyMap<string, number[]>): string {
  const producer = nodes.find((n) => n.output[0] === output);
  if (producer?.opType !== 'Softmax' || !isStandard(producer)) return output;
  const rank = shapes.get(output)?.length ?? 0;
  const axis = attrInt(producer, 'axis', -1);
  return rank === 2 && (axis === -1 || axis === 1) ? producer.input[0]! : output;
}

/** `softmaxed`: the model's output is a Softmax of `output` (so a KL target is probabilities). */
function emitLoss(em: Emitter, options: TrainingGraphOptions, output: string, softmaxed: boolean) {
  const shape = em.shape(output);
  const target = options.target;
  if (options.loss === 'mse') {
    const diff = em.op('Sub', [output, target]);
    const loss = em.fresh('loss');
    em.nodes.push(makeNode({ opType: 'ReduceMean', inputs: [em.op('Mul', [diff, diff])], outputs: [loss], attrs: { keepdims: 0 }, name: em.fresh('loss/mean') }));
    const dPrediction = em.op('Mul', [diff, em.scalar(2 / numel(shape))]);
    return { loss, dPrediction, targetInput: makeValueInfo(target, { dtype: DT.FLOAT, shape }) };
  }
  if (shape.length !== 2) fail('BAD_OPTION', `${options.loss === 'kl' ? 'KL distillation' : 'cross-entropy'} needs logits of shape [batch, classes]; '${output}' has shape [${shape.join(', ')}].`);
  const [n, k] = shape as [number, number];
  if (options.loss === 'kl') {
    const p = softmaxed ? target : em.op('Softmax', [target], { axis: -1 });
    // p·(log p − log q); log p of a zero probability contributes 0·log(tiny) = 0.
    const logP = em.op('Log', [em.op('Max', [p, em.scalar(1e-30)])]);
    const perCell = em.op('Mul', [p, em.op('Sub', [logP, em.op('LogSoftmax', [output], { axis: -1 })])]);
    const loss = em.op('Mul', [em.op('ReduceSum', [perCell], { keepdims: 0 }, []), em.scalar(1 / n)], {}, []);
    const dPrediction = em.op('Mul', [em.op('Sub', [em.op('Softmax', [output], { axis: -1 }), p]), em.scalar(1 / n)]);
    return { loss, dPrediction, targetInput: makeValueInfo(target, { dtype: DT.FLOAT, shape }) };
  }
  const loss = em.fresh('loss');
  const logProb = em.fresh('loss/log_prob');
  em.nodes.push(makeNode({ opType: 'SoftmaxCrossEntropyLoss', inputs: [output, target], outputs: [loss, logProb], name: em.fresh('loss/cross_entropy') }));
  const oneHot = em.op('OneHot', [target, em.ints([k]), em.floats([2], Float32Array.of(0, 1))], { axis: -1 });
  const dPrediction = em.op('Mul', [em.op('Sub', [em.op('Exp', [logProb]), oneHot]), em.scalar(1 / n)]);
  return { loss, dPrediction, targetInput: makeValueInfo(target, { dtype: DT.INT64, shape: [n] }) };
}

function identity(input: string, output: string, name: string): NodeProto {
  return makeNode({ opType: 'Identity', inputs: [input], outputs: [output], name });
}
