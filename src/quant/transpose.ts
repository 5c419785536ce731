/** The transpose of a row-major rows × cols matrix (e.g. MatMul's B [K, N] as N rows of K), in a new array of the same type. */
export function transpose2d<T extends Float32Array | Int8Array | Uint8Array>(v: T, rows: number, cols: number): T {
  const out = new (v.constructor as new (n: number) => T)(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c]!;
  return out;
}
