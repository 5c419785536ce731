/**
 * Block-wise weight quantization by rounding to nearest (RTN) for weight-only 4/8-bit, as ORT's
 * matmul_nbits_quantizer.py does it (DefaultWeightOnlyQuantizer). A weight is seen as N rows of K (N output features,
 * K the reduction axis); each row is cut into blocks of `blockSize` along K (the last block zero-padded)
 * and every block gets its own scale and zero point:
 *   symmetric:  s = v* / (−2^(b−1)), v* the signed value of largest |·| (the negative one on a tie), so that
 *               v* lands on the lowest code and s < 0 when v* > 0; codes q = round(v/s) + 2^(b−1) (zero
 *               point 8 for 4-bit, 128 for 8-bit);
 *   asymmetric: s = (max(mx, 0) − min(mn, 0))/(2^b − 1), z = round(−min(mn, 0)/s), q = round(v/s) + z;
 * codes clamped to [0, 2^b − 1], rounding half to even, value = (q − z)·s. A block of zeros gets s = 0.
 */
import { roundHalfEven } from './round.js';

export type BlockBits = 4 | 8;

export interface BlockOptions {
  bits: BlockBits;
  blockSize: number;
  symmetric: boolean;
}

export interface QuantizedBlocks {
  rows: number;
  /** K, the reduction axis, before padding. */
  cols: number;
  bits: BlockBits;
  blockSize: number;
  /** ceil(cols / blockSize). */
  blocksPerRow: number;
  /** Unsigned codes 0..2^bits−1, one per element, rows × blocksPerRow·blockSize (padding included; it dequantizes to 0). */
  q: Uint8Array;
  /** rows × blocksPerRow, row-major: scale of block b of row r at r·blocksPerRow + b. */
  scales: Float32Array;
  /** Same layout as `scales`: integer zero points (RTN) or float ones (HQQ). */
  zeroPoints: Uint8Array | Float32Array;
  /** True when every zero point is 2^(bits−1) by construction (symmetric RTN): writers may leave them out. */
  symmetric: boolean;
}

export function blocksPerRow(cols: number, blockSize: number): number {
  return Math.ceil(cols / blockSize);
}

/** RTN block quantization of `w` (row-major rows × cols, blocks along cols). */
export function quantizeBlocks(w: Float32Array, rows: number, cols: number, options: BlockOptions): QuantizedBlocks {
  const { bits, blockSize, symmetric } = options;
  if (w.length !== rows * cols) throw new Error(`quantizeBlocks: ${w.length} values for ${rows}×${cols}`);
  const kb = blocksPerRow(cols, blockSize);
  const padded = kb * blockSize;
  const qmax = 2 ** bits - 1;
  const mid = 2 ** (bits - 1);
  const q = new Uint8Array(rows * padded);
  const scales = new Float32Array(rows * kb);
  const zeroPoints = new Uint8Array(rows * kb);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < kb; b++) {
      const start = r * cols + b * blockSize;
      const end = r * cols + Math.min(cols, (b + 1) * blockSize);
      let s: number;
      let z: number;
      let lo = 0;
      let hi = 0;
      for (let i = start; i < end; i++) {
        const v = w[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (symmetric) {
        const peak = Math.abs(hi) > Math.abs(lo) ? hi : lo; // v*; on a tie the negative one, as ORT picks it
        s = Math.fround(peak / -mid) + 0; // +0, not −0, for a block of zeros
        z = mid;
      } else {
        s = Math.fround((hi - lo) / qmax);
        z = s === 0 ? 0 : clamp(roundHalfEven(Math.fround(-lo / s)), 0, qmax);
      }
      scales[r * kb + b] = s;
      zeroPoints[r * kb + b] = z;
      const out = r * padded + b * blockSize;
      for (let i = start; i < end; i++) q[out + i - start] = s === 0 ? z : clamp(roundHalfEven(Math.fround(w[i]! / s)) + z, 0, qmax);
      for (let i = out + end - start; i < out + blockSize; i++) q[i] = z; // padding: decodes to 0
    }
  }
  return { rows, cols, bits, blockSize, blocksPerRow: kb, q, scales, zeroPoints, symmetric };
}

/** The values the blocks stand for, rows × cols (padding dropped): (q − z)·s in float32. */
export function dequantizeBlocks(qb: QuantizedBlocks): Float32Array {
  const { rows, cols, blockSize, blocksPerRow: kb, q, scales, zeroPoints } = qb;
  const padded = kb * blockSize;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < cols; k++) {
      const b = Math.floor(k / blockSize);
      const z = zeroPoints[r * kb + b]!;
      out[r * cols + k] = Math.fround(q[r * padded + k]! - z) * scales[r * kb + b]!;
    }
  return out;
}

/**
 * Packs codes `bits` wide into bytes, low bits first (4-bit: element 2i in the low nibble of byte i), as
 * MatMulNBits' B and its packed zero points take them. Each row of `perRow` codes starts a new byte.
 */
export function packCodes(codes: ArrayLike<number>, bits: BlockBits, rows = 1, perRow = codes.length): Uint8Array {
  if (bits === 8) return Uint8Array.from(codes);
  const bytesPerRow = Math.ceil(perRow / 2);
  const out = new Uint8Array(rows * bytesPerRow);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < perRow; i++) out[r * bytesPerRow + (i >> 1)]! |= (codes[r * perRow + i]! & 0x0f) << (i & 1 ? 4 : 0);
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
