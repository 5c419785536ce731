/**
 * Rounding as ONNX QuantizeLinear does it: to nearest, ties to even. (Math.round sends ties toward
 * +∞: Math.round(2.5) is 3 and Math.round(-1.5) is -1, where QuantizeLinear gives 2 and -2.)
 */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
