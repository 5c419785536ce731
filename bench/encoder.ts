/**
 * A generated BERT-like encoder with seeded random weights, for benches (and tests) that need a
 * transformer graph of a chosen depth or size without downloading one. Each layer is post-LN as in
 * BERT: Q/K/V projections (MatMul + bias Add), scaled dot-product attention (Q·Kᵀ, Mul by 1/√d,
 * Softmax, ·V), the output projection, a residual Add and LayerNormalization, then the MLP
 * (MatMul + bias, Relu or Gelu written as Erf ops, MatMul + bias), a residual Add and a second
 * LayerNormalization. With several heads, Q/K/V are split by Reshape + Transpose (K transposed
 * straight to Kᵀ) and merged back by Transpose + Reshape, as exporters write it.
 *
 * Nodes per layer: 29 with heads > 1 and Relu (33 with Gelu); 22 with one head and Relu (26 with Gelu).
 * Opset 17, the first with LayerNormalization. Input 'x' and output 'y' are float32 [1, seq, hidden].
 */
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, TensorProtoSchema, type ModelProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { makeNode } from '../src/ir/node.js';
import { makeValueInfo } from '../src/ir/types.js';
import { DT } from '../src/onnx/dtype.js';
import { int64Tensor } from '../src/onnx/tensor.js';
import { Rng } from '../src/data/random.js';

export interface EncoderShape {
  layers: number;
  hidden: number;
  seq: number;
  /** Width of the MLP's inner layer (BERT: 4 × hidden). */
  ffn: number;
  /** Attention heads (hidden must divide by it); 1 = single head, no Reshape/Transpose. Default 1. */
  heads?: number;
  /** The MLP's activation: 'relu' (one node) or 'gelu' as x·½·(1 + erf(x/√2)) (five nodes). Default 'relu'. */
  activation?: 'relu' | 'gelu';
  seed?: number;
}

/** Bytes of float32 weights (projections, MLP, biases, LayerNorm scales and shifts) the encoder carries. */
export function encoderWeightBytes(s: EncoderShape): number {
  const perLayer = 4 * s.hidden * s.hidden + 2 * s.hidden * s.ffn + 4 * s.hidden + s.ffn + s.hidden + 4 * s.hidden;
  return 4 * s.layers * perLayer;
}

export function encoderModel(s: EncoderShape): ModelProto {
  const heads = s.heads ?? 1;
  if (s.layers < 1) throw new Error('encoder: at least one layer');
  if (s.hidden % heads !== 0) throw new Error(`encoder: hidden ${s.hidden} does not divide into ${heads} heads`);
  const headDim = s.hidden / heads;
  const rng = new Rng(s.seed ?? 1);
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const node = (opType: string, name: string, inputs: string[], attrs?: Record<string, number | number[]>) => {
    nodes.push(makeNode({ opType, name, inputs, outputs: [name], ...(attrs ? { attrs } : {}) }));
    return name;
  };
  // Weights of std 1/√fan_in keep every layer's output near unit scale, so 200 layers stay finite.
  const weight = (name: string, dims: number[], std: number, mean = 0) => {
    inits.push(uniformTensor(name, dims, std, mean, rng));
    return name;
  };
  const linear = (p: string, x: string, rows: number, cols: number) =>
    node('Add', `${p}_add`, [node('MatMul', `${p}_mm`, [x, weight(`${p}_w`, [rows, cols], 1 / Math.sqrt(rows))]), weight(`${p}_b`, [cols], 0.02)]);
  const layerNorm = (p: string, x: string) =>
    node('LayerNormalization', p, [x, weight(`${p}_scale`, [s.hidden], 0.02, 1), weight(`${p}_bias`, [s.hidden], 0.02)], { axis: -1 });

  // Constants shared by every layer, as exporters deduplicate them.
  inits.push(floatScalar('attn_scale', 1 / Math.sqrt(headDim)));
  if (heads > 1) inits.push(int64Tensor('split_shape', [4], [1, s.seq, heads, headDim]), int64Tensor('merge_shape', [3], [1, s.seq, s.hidden]));
  if (s.activation === 'gelu') inits.push(floatScalar('gelu_sqrt2', Math.SQRT2), floatScalar('gelu_one', 1), floatScalar('gelu_half', 0.5));

  let x = 'x';
  for (let l = 0; l < s.layers; l++) {
    const p = `l${l}`;
    let q = linear(`${p}_q`, x, s.hidden, s.hidden);
    let k = linear(`${p}_k`, x, s.hidden, s.hidden);
    let v = linear(`${p}_v`, x, s.hidden, s.hidden);
    if (heads > 1) {
      // [1, seq, hidden] → [1, heads, seq, headDim]; K goes straight to [1, heads, headDim, seq].
      q = node('Transpose', `${p}_q_t`, [node('Reshape', `${p}_q_r`, [q, 'split_shape'])], { perm: [0, 2, 1, 3] });
      k = node('Transpose', `${p}_k_t`, [node('Reshape', `${p}_k_r`, [k, 'split_shape'])], { perm: [0, 2, 3, 1] });
      v = node('Transpose', `${p}_v_t`, [node('Reshape', `${p}_v_r`, [v, 'split_shape'])], { perm: [0, 2, 1, 3] });
    } else k = node('Transpose', `${p}_k_t`, [k], { perm: [0, 2, 1] });
    const scores = node('Mul', `${p}_scale`, [node('MatMul', `${p}_qk`, [q, k]), 'attn_scale']);
    let ctx = node('MatMul', `${p}_ctx`, [node('Softmax', `${p}_softmax`, [scores], { axis: -1 }), v]);
    if (heads > 1) ctx = node('Reshape', `${p}_merge`, [node('Transpose', `${p}_ctx_t`, [ctx], { perm: [0, 2, 1, 3] }), 'merge_shape']);
    x = layerNorm(`${p}_ln1`, node('Add', `${p}_res1`, [x, linear(`${p}_o`, ctx, s.hidden, s.hidden)]));

    const h = linear(`${p}_up`, x, s.hidden, s.ffn);
    const act = s.activation === 'gelu' ? gelu(node, `${p}_gelu`, h) : node('Relu', `${p}_relu`, [h]);
    x = layerNorm(`${p}_ln2`, node('Add', `${p}_res2`, [x, linear(`${p}_down`, act, s.ffn, s.hidden)]));
  }
  // The last LayerNormalization writes the graph output itself: no extra node.
  nodes.at(-1)!.output[0] = 'y';

  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'onnxq-bench-encoder',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph: create(GraphProtoSchema, {
      name: `encoder-${s.layers}x${s.hidden}`,
      node: nodes,
      initializer: inits,
      input: [makeValueInfo('x', { dtype: DT.FLOAT, shape: [1, s.seq, s.hidden] })],
      output: [makeValueInfo('y', { dtype: DT.FLOAT, shape: [1, s.seq, s.hidden] })],
    }),
  });
}

/** x·½·(1 + erf(x/√2)), as PyTorch's exporter writes nn.GELU before opset 20. */
function gelu(node: (op: string, name: string, inputs: string[]) => string, p: string, x: string): string {
  const erf = node('Erf', `${p}_erf`, [node('Div', `${p}_div`, [x, 'gelu_sqrt2'])]);
  return node('Mul', `${p}_half`, [node('Mul', `${p}_mul`, [x, node('Add', `${p}_add`, [erf, 'gelu_one'])]), 'gelu_half']);
}

/**
 * Uniform values of the given mean and standard deviation (±std·√3). The tensor's raw bytes are the
 * generated Float32Array's own (little-endian hosts), not a copy: a multi-gigabyte model is held once.
 */
function uniformTensor(name: string, dims: number[], std: number, mean: number, rng: Rng): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  const a = (2 * std * Math.sqrt(3)) / 2 ** 32;
  const b = mean - std * Math.sqrt(3);
  for (let i = 0; i < n; i++) values[i] = rng.nextUint32() * a + b;
  return create(TensorProtoSchema, { name, dataType: DT.FLOAT, dims: dims.map(BigInt), rawData: new Uint8Array(values.buffer) });
}

function floatScalar(name: string, value: number): TensorProto {
  return create(TensorProtoSchema, { name, dataType: DT.FLOAT, dims: [], rawData: new Uint8Array(Float32Array.of(value).buffer) });
}
