/**
 * Rounding as ONNX QuantizeLinear does it: to nearest, ties to even. (Math.round sends ties toward
 * +∞: Math.round(2.5) is 3 and Math.round(-1.5) is -1, where QuantizeLinear gives 2 and -2.)
 *
 * Below 2^51 in magnitude, adding 1.5·2^52 moves the value to where a float64 has no fraction bits, so
 * the addition itself rounds it, in IEEE 754's default mode: to nearest, ties to even (1.5·2^52 is
 * even, so the parity is the value's own); subtracting it again is exact. No branch on the fraction,
 * which quantization loops over millions of weights feel.
 */
const SHIFT = 6755399441055744; // 1.5 · 2^52
const EXACT_BELOW = 2 ** 51;

export function roundHalfEven(v: number): number {
  if (v > -EXACT_BELOW && v < EXACT_BELOW) return v + SHIFT - SHIFT;
  // NaN, ±∞ and the huge: floor, then the tie rule by hand.
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
