/**
 * Folds Mul and Add by per-channel (or scalar) constants into the Conv next to them.
 * After a Conv: (W∗x + b)·a + c = (a·W)∗x + (a·b + c), as ONNX Runtime does at its basic level
 * (ConvMulFusion, ConvAddFusion). Before a Conv: W∗(a·x + c) = (W·a)∗x + (b + Σ W·c), with the scale
 * a per input channel; the shift c only where the Conv pads nothing (padding inserts zeros, not c).
 * Exported nets often keep such affine steps separate (PaddleOCR's learnable affine blocks, decomposed
 * batch norms); left alone, each is one more float pass between quantized convolutions, or one more
 * requantization, where per-channel weight scales absorb them exactly.
 */
import type { NodeProto, TensorProto } from 'onnx-buf';
import { DT } from '../onnx/dtype.js';
import { floatTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import { perChannel, scaleOutputChannels, setConstantInput } from './weights.js';
import type { Graph } from '../ir/graph.js';
import { attrInt, attrInts, attrString, isStandard } from '../ir/node.js';

export function foldConvAffine(graph: Graph): number {
  let folded = 0;
  for (let again = true; again; ) {
    again = false;
    for (const node of [...graph.nodes]) {
      if ((node.opType !== 'Mul' && node.opType !== 'Add') || !isStandard(node)) continue;
      const [a, b] = node.input as [string, string];
      const constIndex = graph.constant(b) ? 1 : graph.constant(a) ? 0 : -1;
      if (constIndex < 0) continue;
      const y = node.input[1 - constIndex]!;
      const conv = graph.producer(y);
      if (!conv || conv.opType !== 'Conv' || !isStandard(conv) || graph.consumers(y).length !== 1 || graph.isGraphOutput(y)) continue;
      const weight = graph.constant(conv.input[1]!);
      const constant = graph.constant(node.input[constIndex]!)!;
      if (!weight || weight.dataType !== DT.FLOAT || constant.dataType !== DT.FLOAT) continue;
      const channels = tensorDims(weight)[0]!;
      const values = perChannel(constant, channels, tensorDims(weight).length);
      if (!values) continue;
      fold(graph, conv, node, weight, values, channels);
      folded++;
      again = true;
    }
  }
  folded += foldConvInputAffine(graph);
  if (folded) graph.removeUnused();
  return folded;
}

/** Mul/Add by a constant whose only reader is a Conv (through at most one more Mul/Add): fold into the Conv. */
function foldConvInputAffine(graph: Graph): number {
  let folded = 0;
  for (let again = true; again; ) {
    again = false;
    for (const conv of [...graph.nodes]) {
      if (conv.opType !== 'Conv' || !isStandard(conv)) continue;
      const x = conv.input[0]!;
      const node = graph.producer(x);
      if (!node || (node.opType !== 'Mul' && node.opType !== 'Add') || !isStandard(node)) continue;
      if (graph.consumers(x).length !== 1 || graph.isGraphOutput(x)) continue;
      const ci = graph.constant(node.input[1]!) ? 1 : graph.constant(node.input[0]!) ? 0 : -1;
      if (ci < 0) continue;
      const weight = graph.constant(conv.input[1]!);
      const constant = graph.constant(node.input[ci]!)!;
      if (!weight || weight.dataType !== DT.FLOAT || constant.dataType !== DT.FLOAT) continue;
      const dims = tensorDims(weight);
      const group = attrInt(conv, 'group', 1);
      const inChannels = dims[1]! * group;
      const values = perChannel(constant, inChannels, dims.length);
      if (!values) continue;
      if (node.opType === 'Add' && !padsNothing(conv)) {
        // a·x + c before a padding Conv: write it (x + c/a)·a and fold the scale, so one float op stays, not two.
        if (!swapScaleBehindShift(graph, node, values, inChannels, dims.length)) continue;
      } else {
        foldInput(graph, conv, node, node.input[1 - ci]!, weight, values, group);
      }
      folded++;
      again = true;
    }
  }
  return folded;
}

/**
 * For Add(Mul(x, a), c) with a per-channel and nowhere 0, rewrites the pair as Mul(Add(x, c/a), a):
 * the Mul then sits right before the Conv, where the next round folds it into the weights.
 */
function swapScaleBehindShift(graph: Graph, add: NodeProto, shift: Float32Array, channels: number, rank: number): boolean {
  const source = add.input.find((i) => !graph.constant(i))!;
  const mul = graph.producer(source);
  if (!mul || mul.opType !== 'Mul' || !isStandard(mul) || graph.consumers(source).length !== 1 || graph.isGraphOutput(source)) return false;
  const si = graph.constant(mul.input[1]!) ? 1 : graph.constant(mul.input[0]!) ? 0 : -1;
  if (si < 0) return false;
  const scaleTensor = graph.constant(mul.input[si]!)!;
  if (scaleTensor.dataType !== DT.FLOAT) return false;
  const scale = perChannel(scaleTensor, channels, rank);
  if (!scale || scale.some((v) => v === 0)) return false;
  const shape = [1, channels, ...new Array<number>(rank - 2).fill(1)];
  const shiftName = graph.uniqueName(`${add.name || add.output[0]}_shift`);
  const scaleName = graph.uniqueName(`${mul.name || mul.output[0]}_scale`);
  graph.addInitializer(floatTensor(shiftName, shape, shift.map((c, j) => c / scale[j]!)));
  graph.addInitializer(floatTensor(scaleName, shape, scale));
  const x = mul.input[1 - si]!;
  // x + c/a is a new value: it gets a new name (a name always stands for the same values, before and after preparing).
  const mid = graph.uniqueName(`${source}_shifted`);
  const out = add.output[0]!;
  graph.setInputs(add, [x, shiftName]);
  graph.setOutputs(add, [mid]);
  graph.setInputs(mul, [mid, scaleName]);
  graph.setOutputs(mul, [out]);
  // The Add now comes first: move the Mul behind it (where a topological sort would put it).
  graph.removeNode(mul);
  graph.insertNodes([mul], add);
  return true;
}

function padsNothing(conv: NodeProto): boolean {
  const autoPad = attrString(conv, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return false;
  return (attrInts(conv, 'pads') ?? []).every((p) => p === 0);
}

/** W' = W·a (Mul) or bias' = bias + Σ W·c (Add), per input channel j of group g: channel g·(C/g) + j. */
function foldInput(graph: Graph, conv: NodeProto, node: NodeProto, source: string, weight: TensorProto, k: Float32Array, group: number): void {
  const dims = tensorDims(weight);
  const [outChannels, perGroup] = dims as [number, number];
  const inner = dims.slice(2).reduce((a, d) => a * d, 1);
  const w = readFloat32(weight);
  const channelOf = (m: number, j: number) => Math.floor(m / (outChannels / group)) * perGroup + j;
  if (node.opType === 'Mul') {
    const scaled = Float32Array.from(w);
    for (let m = 0; m < outChannels; m++)
      for (let j = 0; j < perGroup; j++) {
        const a = k[channelOf(m, j)]!;
        const base = (m * perGroup + j) * inner;
        for (let i = 0; i < inner; i++) scaled[base + i] *= a;
      }
    setConstantInput(graph, conv, 1, `${conv.input[1]}_scaled`, dims, scaled);
  } else {
    const oldBias = conv.input[2] ? graph.constant(conv.input[2]) : undefined;
    const bias = oldBias ? Float32Array.from(readFloat32(oldBias)) : new Float32Array(outChannels);
    for (let m = 0; m < outChannels; m++) {
      let sum = 0;
      for (let j = 0; j < perGroup; j++) {
        const c = k[channelOf(m, j)]!;
        const base = (m * perGroup + j) * inner;
        for (let i = 0; i < inner; i++) sum += w[base + i]! * c;
      }
      bias[m] += sum;
    }
    setConstantInput(graph, conv, 2, `${conv.name || conv.output[0]}_bias`, [outChannels], bias);
  }
  graph.removeNode(node);
  graph.setInput(conv, 0, source);
}

function fold(graph: Graph, conv: NodeProto, node: NodeProto, weight: TensorProto, k: Float32Array, channels: number): void {
  const oldBias = conv.input[2] ? graph.constant(conv.input[2]) : undefined;
  const bias = oldBias ? Float32Array.from(readFloat32(oldBias)) : new Float32Array(channels);
  if (node.opType === 'Mul') {
    const w = Float32Array.from(readFloat32(weight));
    scaleOutputChannels(conv, w, tensorDims(weight), k);
    for (let c = 0; c < channels; c++) bias[c] *= k[c]!;
    setConstantInput(graph, conv, 1, `${conv.input[1]}_scaled`, tensorDims(weight), w);
  } else {
    for (let c = 0; c < channels; c++) bias[c] += k[c]!;
  }
  setConstantInput(graph, conv, 2, `${conv.name || conv.output[0]}_bias`, [channels], bias);
  // The Conv now writes the Mul/Add's output.
  const out = node.output[0]!;
  graph.removeNode(node);
  graph.setOutput(conv, 0, out);
}
