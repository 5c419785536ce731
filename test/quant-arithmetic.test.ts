/**
 * The numeric core (src/quant): rounding, integer ranges, scale/zero point, quantize/dequantize per
 * tensor and per channel, saturation and int32 bias. Every expected value is worked out by hand in
 * the comment next to it (ONNX QuantizeLinear/DequantizeLinear, ORT quant_utils.py and base_quantizer.py); scales are chosen as powers of two where possible so
 * that the expected integers are exact, not approximations of the code's own arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '../src/quant/round.js';
import { qrange, typeRange, type QuantSpec, type QuantType } from '../src/quant/spec.js';
import { paramsFromRanges, scaleZeroPoint, type QuantParams } from '../src/quant/params.js';
import { channelMinMax, dequantizeArray, fakeQuantize, quantizeArray } from '../src/quant/quantize.js';
import { adjustWeightScaleForBias, quantizeBias } from '../src/quant/bias.js';
import { ORT_QDQ_RULES } from '../src/plan/rules.js';
import { makeNode } from '../src/ir/node.js';
import { floatTensor, makeTensor } from '../src/onnx/tensor.js';
import { DT } from '../src/onnx/dtype.js';
import { buildModel, runModel } from './helpers/build.js';

const spec = (dtype: QuantType, symmetric: boolean, extra: Partial<QuantSpec> = {}): QuantSpec => ({ dtype, symmetric, ...extra });
const params = (s: QuantSpec, scale: number[], zeroPoint: number[]): QuantParams => ({ scale: Float32Array.from(scale), zeroPoint: Int32Array.from(zeroPoint), spec: s });
/** quantizeArray returns a TypedArray union (BigInt64Array included); the 8/16-bit types give numbers. */
const ints = (a: ReturnType<typeof quantizeArray>) => Array.from(a as ArrayLike<number>);
const q = (data: number[], dims: number[], p: QuantParams) => ints(quantizeArray(Float32Array.from(data), dims, p));

describe('roundHalfEven', () => {
  it('sends ties to the even neighbour, on both sides of zero', () => {
    const ties: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4]];
    for (const [v, want] of ties) expect(roundHalfEven(v), `${v}`).toBe(want);
    // What Math.round would have done wrong (ties toward +∞): 2.5 → 3, -1.5 → -1.
    expect([Math.round(2.5), Math.round(-1.5)]).toEqual([3, -1]);
  });

  it('rounds non-ties to nearest and leaves integers alone', () => {
    const cases: [number, number][] = [[2.4999, 2], [2.5000001, 3], [-2.4, -2], [-2.6, -3], [3, 3], [-3, -3], [0, 0]];
    for (const [v, want] of cases) expect(roundHalfEven(v), `${v}`).toBe(want);
    // The largest double below 0.5: floor(v + 0.5) would give 1 because v + 0.5 rounds up to 1.
    expect(roundHalfEven(0.49999999999999994)).toBe(0);
    // Large values stay exact: 2^52 − 0.5 = 4503599627370495.5 is a tie between …495 (odd) and …496 (even).
    expect(roundHalfEven(2 ** 52 - 0.5)).toBe(2 ** 52);
    expect(roundHalfEven(-(2 ** 52 - 0.5))).toBe(-(2 ** 52));
    // 2^52 − 1.5 = …494.5 → …494 (even).
    expect(roundHalfEven(2 ** 52 - 1.5)).toBe(2 ** 52 - 2);
    expect(roundHalfEven(2 ** 53 + 2)).toBe(2 ** 53 + 2);
  });

  it('agrees with floor and the tie rule on every kind of value, either side of 2^51', () => {
    const byFloor = (v: number) => {
      const f = Math.floor(v);
      return v - f > 0.5 ? f + 1 : v - f < 0.5 ? f : f % 2 === 0 ? f : f + 1;
    };
    const values = [NaN, Infinity, -Infinity, -0, 2 ** 51 - 0.5, 2 ** 51 + 0.5, -(2 ** 51) - 0.5, 2 ** 51 - 1.5];
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2 ** (seed % 40);
    for (let i = 0; i < 100000; i++) values.push(next(), Math.round(next()) + 0.5, Math.fround(next()));
    // === rather than Object.is: −0 comes out +0, which no integer type tells apart.
    const same = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));
    expect(values.filter((v) => !same(roundHalfEven(v), byFloor(v)))).toEqual([]);
  });
});

describe('integer ranges (ORT quant_utils.py get_qmin_qmax_for_qType)', () => {
  it('full, symmetric and reduced ranges per type', () => {
    // [type, full, symmetric, reduce_range]
    const table: [QuantType, number[], number[], number[]][] = [
      ['int8', [-128, 127], [-127, 127], [-64, 64]], ['uint8', [0, 255], [0, 254], [0, 127]],
      ['int16', [-32768, 32767], [-32767, 32767], [-16384, 16384]], ['uint16', [0, 65535], [0, 65534], [0, 32767]],
    ];
    for (const [t, full, sym, reduced] of table) {
      expect(qrange(spec(t, false)), t).toEqual({ qmin: full[0], qmax: full[1] });
      expect(typeRange(t), t).toEqual({ qmin: full[0], qmax: full[1] });
      expect(qrange(spec(t, true)), t).toEqual({ qmin: sym[0], qmax: sym[1] });
      expect(qrange(spec(t, false, { reduceRange: true })), t).toEqual({ qmin: reduced[0], qmax: reduced[1] });
    }
    // 4-bit reduced ranges as in ORT's table: int4 −4…3 (not ±4, which int4's 3 bits cannot hold), uint4 0…7.
    expect(qrange(spec('int4', false, { reduceRange: true }))).toEqual({ qmin: -4, qmax: 3 });
    expect(qrange(spec('uint4', false, { reduceRange: true }))).toEqual({ qmin: 0, qmax: 7 });
  });
});

describe('scaleZeroPoint', () => {
  it('asymmetric: s = (max − min)/(qmax − qmin), z = round(qmin − min/s)', () => {
    // uint8 [-0.5, 1]: s = 1.5/255; z = 0 + 0.5·255/1.5 = 85.
    expect(scaleZeroPoint(-0.5, 1, spec('uint8', false))).toEqual({ scale: Math.fround(1.5 / 255), zeroPoint: 85 });
    // int8 [-1, 3]: s = 4/255; z = -128 + 255/4 = -128 + 63.75 = -64.25 → -64.
    expect(scaleZeroPoint(-1, 3, spec('int8', false))).toEqual({ scale: Math.fround(4 / 255), zeroPoint: -64 });
    // uint16 [-1, 1]: s = 2/65535; z = 1/s = 32767.5 (exactly, in float64, as ORT computes it), a tie → 32768 (even).
    expect(scaleZeroPoint(-1, 1, spec('uint16', false))).toEqual({ scale: Math.fround(2 / 65535), zeroPoint: 32768 });
    // int16 [-1, 1]: z = -32768 + 32767.5 = -0.5, a tie → 0 (even).
    expect(scaleZeroPoint(-1, 1, spec('int16', false))).toEqual({ scale: Math.fround(2 / 65535), zeroPoint: 0 });
  });

  it('symmetric: range ±max|x|, z at the middle of the range', () => {
    // int8 [-0.5, 127/64]: r = 1.984375; s = 2r/254 = r/127 = 1/64; z = 0.
    expect(scaleZeroPoint(-0.5, 1.984375, spec('int8', true))).toEqual({ scale: 1 / 64, zeroPoint: 0 });
    // uint8 [-127/64, 0.5]: qrange 0..254; s = 2·1.984375/254 = 1/64; z = round(254/2) = 127.
    expect(scaleZeroPoint(-1.984375, 0.5, spec('uint8', true))).toEqual({ scale: 1 / 64, zeroPoint: 127 });
    // int16 [-3, 1]: r = 3; s = 6/65534 = 3/32767; z = 0.
    expect(scaleZeroPoint(-3, 1, spec('int16', true))).toEqual({ scale: Math.fround(3 / 32767), zeroPoint: 0 });
    // uint16 [-32767, 10]: qrange 0..65534; s = 65534/65534 = 1; z = 65534/2 = 32767.
    expect(scaleZeroPoint(-32767, 10, spec('uint16', true))).toEqual({ scale: 1, zeroPoint: 32767 });
  });

  it('reduce-range uses the 7-bit (15-bit) range', () => {
    // int8 symmetric reduced, [-1, 0.5]: qrange -64..64; s = 2/128 = 1/64; z = 0.
    expect(scaleZeroPoint(-1, 0.5, spec('int8', true, { reduceRange: true }))).toEqual({ scale: 1 / 64, zeroPoint: 0 });
    // uint8 reduced, [-0.5, 1.5]: qrange 0..127; s = 2/127; z = 0.5·127/2 = 31.75 → 32.
    expect(scaleZeroPoint(-0.5, 1.5, spec('uint8', false, { reduceRange: true }))).toEqual({ scale: Math.fround(2 / 127), zeroPoint: 32 });
    // int16 symmetric reduced, [-2, 1]: qrange -16384..16384; s = 4/32768 = 2^-13; z = 0.
    expect(scaleZeroPoint(-2, 1, spec('int16', true, { reduceRange: true }))).toEqual({ scale: 2 ** -13, zeroPoint: 0 });
    // uint16 reduced, [-1, 32766]: qrange 0..32767; s = 32767/32767 = 1; z = 0 + 1/1 = 1.
    expect(scaleZeroPoint(-1, 32766, spec('uint16', false, { reduceRange: true }))).toEqual({ scale: 1, zeroPoint: 1 });
  });

  it('widens a range that does not contain 0', () => {
    // uint8 [2, 4] → [0, 4] so that 0 is representable: s = 4/255, z = 0.
    expect(scaleZeroPoint(2, 4, spec('uint8', false))).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 0 });
    // int8 [-4, -2] → [-4, 0]: s = 4/255; z = -128 + 4·255/4 = 127, the top of the range.
    expect(scaleZeroPoint(-4, -2, spec('int8', false))).toEqual({ scale: Math.fround(4 / 255), zeroPoint: 127 });
    // int8 symmetric [2, 4] → ±4: s = 8/254 = 4/127; z = 0.
    expect(scaleZeroPoint(2, 4, spec('int8', true))).toEqual({ scale: Math.fround(4 / 127), zeroPoint: 0 });
  });

  it('an all-zero (or sub-float32-tiny) range gives s = 1, z = 0, as ORT does', () => {
    for (const t of ['int8', 'uint8', 'int16', 'uint16'] as const)
      for (const sym of [false, true]) expect(scaleZeroPoint(0, 0, spec(t, sym)), `${t} ${sym}`).toEqual({ scale: 1, zeroPoint: 0 });
    // Per channel, a zero channel next to a normal one: [-1, 1] int8 symmetric → s = 2/254 = 1/127; [0, 0] → 1.
    const p = paramsFromRanges([-1, 0], [1, 0], spec('int8', true, { axis: 0 }));
    expect([Array.from(p.scale), Array.from(p.zeroPoint)]).toEqual([[Math.fround(1 / 127), 1], [0, 0]]);
    // 1e-40/255 ≈ 3.9e-43 < float32's smallest normal 1.18e-38.
    expect(scaleZeroPoint(0, 1e-40, spec('uint8', false))).toEqual({ scale: 1, zeroPoint: 0 });
    expect(() => scaleZeroPoint(-Infinity, 1, spec('int8', false))).toThrow(/not finite/);
    expect(() => scaleZeroPoint(0, NaN, spec('int8', false))).toThrow(/not finite/);
  });
});

describe('quantizeArray / dequantizeArray', () => {
  it('rounds x/s half to even before adding the zero point', () => {
    // uint8, s = 0.5, z = 3: x/s = 2.5, -2.5, 1.5, -1.5 → 2, -2, 2, -2 → +3 = 5, 1, 5, 1.
    // (Adding z first would round 5.5, 0.5, 4.5, 1.5 to 6, 0, 4, 2.)
    expect(q([1.25, -1.25, 0.75, -0.75], [4], params(spec('uint8', false), [0.5], [3]))).toEqual([5, 1, 5, 1]);
    // fakeQuantize: 1.25 → q 2 → (2 − 0)·0.5 = 1.
    expect(Array.from(fakeQuantize(Float32Array.of(1.25), [1], params(spec('int8', true), [0.5], [0])))).toEqual([1]);
  });

  it('divides in float32, like QuantizeLinear (checked against onnxruntime)', async () => {
    // x = f32(0.45) = 0.4500000178…, s = f32(0.1) = 0.1000000015…: the exact quotient 4.50000011…
    // rounds to 4.5 in float32, a tie → 4. Rounding the float64 quotient would give 5.
    const x = Float32Array.of(0.45);
    const s = Math.fround(0.1);
    expect(ints(quantizeArray(x, [1], params(spec('int8', false), [s], [0])))).toEqual([4]);
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1] }],
      outputs: [{ name: 'y', dtype: DT.FLOAT }],
      initializers: [floatTensor('s', [], [s]), makeTensor('z', DT.INT8, [], Int8Array.of(0))],
      nodes: [
        { opType: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'] },
        { opType: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['y'] },
      ],
    });
    const out = await runModel(model, { x: { dtype: 'float32', dims: [1], data: x } }, 'disabled');
    expect(out.y![0]).toBe(Math.fround(4 * s));
  });

  it('saturates to the full type range, even for symmetric or reduced specs', () => {
    // int8 symmetric, s = 1/64: ±10·64 = ±640 → 127 and -128 (QuantizeLinear clips to the type, not to ±127).
    expect(q([10, -10], [2], params(spec('int8', true), [1 / 64], [0]))).toEqual([127, -128]);
    // int8 reduced (-64..64 for the scale), s = 1/64: 2·64 = 128 → 127, not 64.
    expect(q([2], [1], params(spec('int8', true, { reduceRange: true }), [1 / 64], [0]))).toEqual([127]);
    // uint8, s = 1, z = 10: -20+10 → 0; 300+10 → 255; round(0.5)+10 = 10; round(1.5)+10 = 12.
    expect(q([-20, 300, 0.5, 1.5], [4], params(spec('uint8', false), [1], [10]))).toEqual([0, 255, 10, 12]);
    // int16, s = 1: 40000 → 32767, -40000 → -32768, 2.5 → 2.
    expect(q([40000, -40000, 2.5], [3], params(spec('int16', false), [1], [0]))).toEqual([32767, -32768, 2]);
    // uint16, s = 1: 70000 → 65535, -1 → 0, 65535.5 → 65536 (even) → 65535.
    expect(q([70000, -1, 65535.5], [3], params(spec('uint16', false), [1], [0]))).toEqual([65535, 0, 65535]);
    const types: [QuantType, unknown][] = [['int8', Int8Array], ['uint8', Uint8Array], ['int16', Int16Array], ['uint16', Uint16Array]];
    for (const [t, ctor] of types) expect(quantizeArray(Float32Array.of(1), [1], params(spec(t, false), [1], [0]))).toBeInstanceOf(ctor);
  });
});

describe('per-channel quantization along the axis each op uses (ORT QDQOpTypePerChannelSupportToAxis, TensorRT guide)', () => {
  const node = (opType: string, attrs = {}) => makeNode({ opType, inputs: ['x', 'w'], outputs: ['y'], attrs });
  it('the plan rules pick Conv 0, ConvTranspose 1, MatMul [K,N] 1, Gemm 1 or 0 (transB)', () => {
    expect(ORT_QDQ_RULES.Conv!.weight!.axis(node('Conv'), 4)).toBe(0);
    expect(ORT_QDQ_RULES.ConvTranspose!.weight!.axis(node('ConvTranspose'), 4)).toBe(1);
    expect(ORT_QDQ_RULES.MatMul!.weight!.axis(node('MatMul'), 2)).toBe(1);
    expect(ORT_QDQ_RULES.Gemm!.weight!.axis(node('Gemm'), 2)).toBe(1);
    expect(ORT_QDQ_RULES.Gemm!.weight!.axis(node('Gemm', { transB: 1 }), 2)).toBe(0);
  });

  it('Conv weight [M=2, C=1, 1, 2] along axis 0, from its own ranges', () => {
    const w = Float32Array.of(0.5, -1.984375, 3.96875, -1); // channel 0 = first two values, channel 1 = last two
    const mm = channelMinMax(w, [2, 1, 1, 2], 0);
    expect([Array.from(mm.min), Array.from(mm.max)]).toEqual([[-1.984375, -1], [0.5, 3.96875]]);
    // int8 symmetric: s0 = 1.984375/127 = 1/64, s1 = 3.96875/127 = 1/32.
    const p = paramsFromRanges(mm.min, mm.max, spec('int8', true, { axis: 0 }));
    expect([Array.from(p.scale), Array.from(p.zeroPoint)]).toEqual([[1 / 64, 1 / 32], [0, 0]]);
    // 0.5·64 = 32, -1.984375·64 = -127 | 3.96875·32 = 127, -1·32 = -32.
    expect(ints(quantizeArray(w, [2, 1, 1, 2], p))).toEqual([32, -127, 127, -32]);
    // Per tensor, one s = 1/32 for all: 16, -63.5 → -64 (even), 127, -32.
    const t = paramsFromRanges([-1.984375], [3.96875], spec('int8', true));
    expect(ints(quantizeArray(w, [2, 1, 1, 2], t))).toEqual([16, -64, 127, -32]);
  });

  it('ConvTranspose weight [C_in=2, C_out=2, 1, 1] along axis 1 (also written -3)', () => {
    // Flat order (ci, co): (0,0) (0,1) (1,0) (1,1); channel = co. s = [0.5, 0.25]:
    // 1/0.5 = 2, 1/0.25 = 4, -1/0.5 = -2, 0.75/0.25 = 3.
    for (const axis of [1, -3]) {
      const p = params(spec('int8', true, { axis }), [0.5, 0.25], [0, 0]);
      expect(q([1, 1, -1, 0.75], [2, 2, 1, 1], p), `axis ${axis}`).toEqual([2, 4, -2, 3]);
    }
    const mm = channelMinMax(Float32Array.of(1, 1, -1, 0.75), [2, 2, 1, 1], 1);
    expect([Array.from(mm.min), Array.from(mm.max)]).toEqual([[-1, 0.75], [1, 1]]);
  });

  it('MatMul B [K=3, N=2] along axis 1 and Gemm transB=1 B [N=2, K=3] along axis 0 agree', () => {
    // Column n of B (row n of Bᵀ) has scale [0.25, 0.5][n]. Column 0 = 1, 0.5, -1 → 4, 2, -4;
    // column 1 = -2, 4, 2 → -4, 8, 4.
    const s = [0.25, 0.5];
    const matmul = q([1, -2, 0.5, 4, -1, 2], [3, 2], params(spec('int8', true, { axis: 1 }), s, [0, 0]));
    expect(matmul).toEqual([4, -4, 2, 8, -4, 4]);
    const gemmT = q([1, 0.5, -1, -2, 4, 2], [2, 3], params(spec('int8', true, { axis: 0 }), s, [0, 0]));
    expect(gemmT).toEqual([4, 2, -4, -4, 8, 4]);
    // And back: (q − 0)·s reproduces the (exactly representable) weights.
    const back = dequantizeArray(Int8Array.from(matmul), [3, 2], params(spec('int8', true, { axis: 1 }), s, [0, 0]));
    expect(Array.from(back)).toEqual([1, -2, 0.5, 4, -1, 2]);
  });
});

describe('int32 bias (ORT base_quantizer.py)', () => {
  it('s_b = s_in·s_w, z = 0, rounded half to even', () => {
    // s_b = 0.5·0.25 = 0.125: 0.5 → 4, -0.25 → -2, 0.1875 → 1.5 → 2, 0.3125 → 2.5 → 2, -0.3125 → -2, 0.001 → 0.008 → 0.
    const b = quantizeBias(Float32Array.of(0.5, -0.25, 0.1875, 0.3125, -0.3125, 0.001), 0.5, Float32Array.of(0.25));
    expect([Array.from(b.scale), Array.from(b.data)]).toEqual([[0.125], [4, -2, 2, 2, -2, 0]]);
    expect(b.data).toBeInstanceOf(Int32Array);
  });

  it('per channel when the weight is, and × Gemm beta', () => {
    // s_w = [0.25, 0.5], s_in = 0.5 → s_b = [0.125, 0.25]; bias 1 → 8 and 4.
    const pc = quantizeBias(Float32Array.of(1, 1), 0.5, Float32Array.of(0.25, 0.5));
    expect([Array.from(pc.scale), Array.from(pc.data)]).toEqual([[0.125, 0.25], [8, 4]]);
    // beta = 2: s_b = 0.5·0.25·2 = 0.25; 1/0.25 = 4.
    const gemm = quantizeBias(Float32Array.of(1), 0.5, Float32Array.of(0.25), 2);
    expect([Array.from(gemm.scale), Array.from(gemm.data)]).toEqual([[0.25], [4]]);
  });

  it('saturates a bias that overflows int32 instead of wrapping', () => {
    // s_b = 2^-10·2^-30 = 2^-40; ±1/2^-40 = ±2^40 ≫ 2^31 − 1 → clipped to the int32 limits.
    const b = quantizeBias(Float32Array.of(1, -1, 0), 2 ** -10, Float32Array.of(2 ** -30));
    expect(Array.from(b.data)).toEqual([2147483647, -2147483648, 0]);
  });

  it('adjustWeightScaleForBias enlarges a tiny weight scale so that |q_b| ≤ (2^31 − 1)/2', () => {
    const ws = Float32Array.of(2 ** -30);
    const adjusted = adjustWeightScaleForBias(Float32Array.of(1, -1), 2 ** -10, ws);
    expect(ws[0]).toBe(2 ** -30); // the input is not modified
    // Needed: s_w ≥ 2·|b|/(s_in·(2^31 − 1)) = 2^11/(2^31 − 1) ≈ 9.54e-7 (plus a 2^-20 margin).
    expect(adjusted[0]!).toBeGreaterThanOrEqual(2 ** 11 / (2 ** 31 - 1));
    expect(adjusted[0]!).toBeLessThan((2 ** 11 / (2 ** 31 - 1)) * (1 + 2 ** -19));
    // Then q_b = 1/(2^-10·s_w) ≈ (2^31 − 1)/2/(1 + 2^-20) ≈ 2^30 − 1024: under 2^30, above 2^30 − 2^11.
    const b = quantizeBias(Float32Array.of(1, -1), 2 ** -10, adjusted);
    expect(b.data[0]!).toBeLessThan(2 ** 30);
    expect(b.data[0]!).toBeGreaterThan(2 ** 30 - 2 ** 11);
    expect(b.data[1]).toBe(-b.data[0]!);
  });

  it('leaves channels whose scale suffices, and sizes a shared scale for the largest bias', () => {
    // Channel 0: 0.25 ≫ 9.5e-7, unchanged. Channel 1: 2^-30 < 9.5e-7, enlarged.
    const pc = adjustWeightScaleForBias(Float32Array.of(1, 1), 2 ** -10, Float32Array.of(0.25, 2 ** -30));
    expect(pc[0]).toBe(0.25);
    expect(pc[1]!).toBeGreaterThanOrEqual(2 ** 11 / (2 ** 31 - 1));
    // One per-tensor scale, biases 0.5 and -2: sized for |b| = 2 → ≥ 2·2/(2^-10·(2^31 − 1)) = 2^12/(2^31 − 1).
    const pt = adjustWeightScaleForBias(Float32Array.of(0.5, -2), 2 ** -10, Float32Array.of(2 ** -30));
    expect(pt.length).toBe(1);
    expect(pt[0]!).toBeGreaterThanOrEqual(2 ** 12 / (2 ** 31 - 1));
  });
});
