/**
 * Deterministic mutations of model files: mutant i of a seed is always the same bytes, so a failure
 * found by `npm run fuzz` is replayed by its number alone. Six mutators, each aimed at a way a
 * protobuf reader can be led astray: flipped bytes, truncation, a splice of another region, a
 * duplicated region, a length varint that lies, and a field key (tag) changed to another field or
 * wire type.
 */
import { varint } from '../src/onnx/session-bytes.js';


/** xorshift32: small, fast, the same on every platform. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export const MUTATORS = ['flip', 'truncate', 'splice', 'duplicate', 'length', 'tag'] as const;
export type Mutator = (typeof MUTATORS)[number];

/** Mutant `index` of `bytes` (seeded by `seed`): which mutator made it, and its bytes. */
export function mutate(bytes: Uint8Array, seed: number, index: number): { mutator: Mutator; bytes: Uint8Array } {
  const random = rng(seed * 1_000_003 + index * 7919 + 1);
  const pick = (n: number) => Math.floor(random() * n);
  const mutator = MUTATORS[index % MUTATORS.length]!;
  const out = Uint8Array.from(bytes);
  switch (mutator) {
    case 'flip': {
      for (let k = 1 + pick(8); k > 0; k--) out[pick(out.length)] ^= 1 + pick(255);
      return { mutator, bytes: out };
    }
    case 'truncate':
      return { mutator, bytes: out.subarray(0, pick(out.length)) };
    case 'splice': {
      const from = pick(out.length);
      const len = 1 + pick(Math.min(256, out.length - from));
      const at = pick(out.length);
      return { mutator, bytes: concat(out.subarray(0, at), out.subarray(from, from + len), out.subarray(at + len)) };
    }
    case 'duplicate': {
      const from = pick(out.length);
      const len = 1 + pick(Math.min(1024, out.length - from));
      return { mutator, bytes: concat(out.subarray(0, from + len), out.subarray(from, from + len), out.subarray(from + len)) };
    }
    case 'length': {
      const at = lengthFields(out);
      if (!at.length) return { mutator, bytes: out };
      const { pos, len, size } = at[pick(at.length)]!;
      const lie = [0, 1, len - 1, len + 1, len * 2 + 7, 0x7fffffff, 2 ** 32 + len][pick(7)]!;
      return { mutator, bytes: concat(out.subarray(0, pos), Uint8Array.from(varint(Math.max(0, lie))), out.subarray(pos + size)) };
    }
    case 'tag': {
      const at = lengthFields(out);
      if (!at.length) return { mutator, bytes: out };
      const { key } = at[pick(at.length)]!;
      out[key] = ((1 + pick(15)) << 3) | pick(6); // another field number, any wire type (6 and 7 are invalid ones)
      return { mutator, bytes: out };
    }
  }
}

/**
 * Places of length-delimited fields found by walking the bytes as a message, top level and one
 * level into each such field: the key's offset, the length varint's offset, its size and value.
 */
function lengthFields(b: Uint8Array): { key: number; pos: number; size: number; len: number }[] {
  const found: { key: number; pos: number; size: number; len: number }[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let p = start;
    while (p < end && found.length < 4096) {
      const key = p;
      const tag = readVarint(b, p);
      if (!tag) return;
      p = tag.next;
      const wire = tag.value & 7;
      if (wire === 0) {
        const v = readVarint(b, p);
        if (!v) return;
        p = v.next;
      } else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else if (wire === 2) {
        const v = readVarint(b, p);
        if (!v || v.next + v.value > end) return;
        found.push({ key, pos: p, size: v.next - p, len: v.value });
        if (depth < 2) walk(v.next, v.next + v.value, depth + 1);
        p = v.next + v.value;
      } else return;
    }
  };
  walk(0, b.length, 0);
  return found;
}

function readVarint(b: Uint8Array, p: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0; shift < 35 && p < b.length; shift += 7) {
    const byte = b[p++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return { value, next: p };
  }
  return undefined;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
