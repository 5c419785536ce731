/**
 * One quantized layer as a small ONNX model whose scales are graph inputs, for EasyQuant's search:
 * x → [folded Relu/Clip] → QuantizeLinear/DequantizeLinear(x_scale) → layer ← Q/DQ(w, w_scale, per channel),
 * and the per-row, per-output-channel sums Σ (y − y_ref)², Σ y² and Σ y_ref² that cosines and errors come from
 * (the error's own sum: 1 − cos is ~1e-5 here, below what a float32 Σ y·y_ref resolves). One session serves
 * every candidate: a candidate is a feed, not a model.
 */
import { clone, create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, OperatorSetIdProtoSchema, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';
import type { Graph } from '../ir/graph.js';
import { irVersionForOpset } from '../ir/model.js';
import { makeNode } from '../ir/node.js';
import { makeValueInfo, type Dim } from '../ir/types.js';
import { DT } from '../onnx/dtype.js';
import { int64Tensor, makeTensor, readFloat32, tensorDims } from '../onnx/tensor.js';
import { onnxType, type QuantType } from '../quant/spec.js';

/** A Conv, ConvTranspose, Gemm or MatMul with a quantized weight, as EasyQuant searches it. */
export interface Layer {
  node: NodeProto;
  /** The plan's activation entry of the layer's input (node.input[0]). */
  input: string;
  /** The tensor of the QDQ model holding the input before its quantization (a folded Relu's input). */
  fetch: string;
  /** A Relu/Clip folded into the input's range, applied again before quantizing the fetched values. */
  fold?: NodeProto;
  weight: string;
  /** The layer's output in the float model, the reference. */
  output: string;
  /** Axis of the output that holds the output channels (1 for Conv, the last for Gemm/MatMul). */
  channelAxis: number;
}

export interface Quantization {
  dtype: QuantType;
  zeroPoint: number[];
  /** Per-channel axis of the weight; per tensor when absent. */
  axis?: number;
}

/** Feeds: x, y_ref (float, rows first), x_scale (scalar), w_scale ([C] or scalar). Outputs: ee, yy, rr, each [rows, C]. */
export function layerModel(graph: Graph, layer: Layer, x: Quantization, w: Quantization, ranks: { x: number; y: number }, opset: number): ModelProto {
  const initializers: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  const constant = (name: string) => {
    const t = graph.constant(name);
    if (!t) throw new Error(`'${name}' is not a constant`); // layers are chosen with constant weights
    initializers.push(makeTensor(name, DT.FLOAT, tensorDims(t), readFloat32(t)));
  };
  let xIn = 'x';
  if (layer.fold) {
    const f = clone(NodeProtoSchema, layer.fold);
    f.input[0] = 'x';
    f.output.splice(0, f.output.length, 'x_folded');
    for (const i of f.input.slice(1)) if (i) constant(i);
    nodes.push(f);
    xIn = 'x_folded';
  }
  initializers.push(makeTensor('x_zero_point', onnxType(x.dtype), [], zeroPoints(x.dtype, x.zeroPoint.slice(0, 1))));
  const perChannel = w.axis !== undefined;
  initializers.push(makeTensor('w_zero_point', onnxType(w.dtype), perChannel ? [w.zeroPoint.length] : [], zeroPoints(w.dtype, perChannel ? w.zeroPoint : w.zeroPoint.slice(0, 1))));
  constant(layer.weight);
  const axisAttr: Record<string, number> = perChannel ? { axis: w.axis! } : {};
  nodes.push(
    makeNode({ opType: 'QuantizeLinear', inputs: [xIn, 'x_scale', 'x_zero_point'], outputs: ['x_q'] }),
    makeNode({ opType: 'DequantizeLinear', inputs: ['x_q', 'x_scale', 'x_zero_point'], outputs: ['x_dq'] }),
    makeNode({ opType: 'QuantizeLinear', inputs: [layer.weight, 'w_scale', 'w_zero_point'], outputs: ['w_q'], attrs: axisAttr }),
    makeNode({ opType: 'DequantizeLinear', inputs: ['w_q', 'w_scale', 'w_zero_point'], outputs: ['w_dq'], attrs: axisAttr }),
  );
  const op = clone(NodeProtoSchema, layer.node);
  op.input[0] = 'x_dq';
  op.input[1] = 'w_dq';
  for (const i of op.input.slice(2)) if (i) constant(i);
  op.output.splice(0, op.output.length, 'y');
  nodes.push(op);
  // Sums over every axis but the rows (0) and the channels.
  const axes = Array.from({ length: ranks.y }, (_, a) => a).filter((a) => a !== 0 && a !== layer.channelAxis);
  const sum = (input: string, output: string) => {
    if (!axes.length) return makeNode({ opType: 'Identity', inputs: [input], outputs: [output] });
    if (layer.channelAxis !== 1 && layer.channelAxis !== ranks.y - 1) throw new Error('channel axis neither 1 nor last'); // layers are chosen so
    return opset >= 13
      ? makeNode({ opType: 'ReduceSum', inputs: [input, 'sum_axes'], outputs: [output], attrs: { keepdims: 0 } })
      : makeNode({ opType: 'ReduceSum', inputs: [input], outputs: [output], attrs: { keepdims: 0, axes } });
  };
  if (axes.length && opset >= 13) initializers.push(int64Tensor('sum_axes', [axes.length], axes));
  nodes.push(
    makeNode({ opType: 'Sub', inputs: ['y', 'y_ref'], outputs: ['err'] }),
    makeNode({ opType: 'Mul', inputs: ['err', 'err'], outputs: ['err_sq'] }),
    makeNode({ opType: 'Mul', inputs: ['y', 'y'], outputs: ['y_sq'] }),
    makeNode({ opType: 'Mul', inputs: ['y_ref', 'y_ref'], outputs: ['ref_sq'] }),
    sum('err_sq', 'ee'),
    sum('y_sq', 'yy'),
    sum('ref_sq', 'rr'),
  );
  const free = (name: string, rank: number): Dim[] => Array.from({ length: rank }, (_, i) => `${name}_${i}`);
  return create(ModelProtoSchema, {
    irVersion: BigInt(irVersionForOpset(opset)),
    producerName: 'onnxq-easyquant',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
    graph: create(GraphProtoSchema, {
      name: 'easyquant_layer',
      node: nodes,
      initializer: initializers,
      input: [
        makeValueInfo('x', { dtype: DT.FLOAT, shape: free('x', ranks.x) }),
        makeValueInfo('y_ref', { dtype: DT.FLOAT, shape: free('y', ranks.y) }),
        makeValueInfo('x_scale', { dtype: DT.FLOAT, shape: [] }),
        makeValueInfo('w_scale', { dtype: DT.FLOAT, shape: perChannel ? [w.zeroPoint.length] : [] }),
      ],
      output: ['ee', 'yy', 'rr'].map((n) => makeValueInfo(n, { dtype: DT.FLOAT, shape: [null, null] })),
    }),
  });
}

function zeroPoints(dtype: QuantType, values: number[]): Int8Array | Uint8Array {
  return dtype === 'int8' ? Int8Array.from(values) : Uint8Array.from(values);
}
