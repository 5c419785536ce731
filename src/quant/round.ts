/**
 * Rounding as ONNX QuantizeLinear does it: to nearest, ties to even. (Math.round sends ties toward
 * +∞, so Math.round(-2.5) is -2, where QuantizeLinear gives -2 and Math.round(2.5) is 3 where it gives 2.)
 */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
