/**
 * What a calibration session adds to the model so that statistics cross into JavaScript cheaply.
 *
 * onnxruntime spends time on every node it loads and every output it hands over, and a transformer
 * has thousands of tensors to observe. So small tensors with the same number of values are observed together:
 * each is reshaped to one row [1, n]; up to STACK_ROWS rows (and STACK_VALUES values) are stacked by one
 * Concat into [k, n]; and the stack gives every row's min and max at once (ReduceMin and ReduceMax over
 * axis 1) and every row's strided subsample (one Slice along axis 1: elements start, start + s, … with
 * start = batch mod s, so that over the calibration set every position is visited). All mins leave the
 * session as one tensor, all maxes as another, and each stack's subsample as one.
 *
 * A tensor whose size changes from sample to sample (inputs of varying shapes) can stop matching its
 * stack, and the Concat then fails: `unstacked()` gives the same probes with one row per stack.
 */
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf';
import type { Sample } from '../data/source.js';
import { opsetVersion } from '../ir/model.js';
import { makeNode } from '../ir/node.js';
import { makeValueInfo } from '../ir/types.js';
import { DT } from '../onnx/dtype.js';
import { int64Tensor } from '../onnx/tensor.js';
import type { Augmentation } from '../runtime/runner.js';

/** Rows and values a stack holds at most: what it keeps alive in onnxruntime's memory, and copies, per run. */
const STACK_ROWS = 64;
const STACK_VALUES = 1 << 20;
/**
 * Tensors larger than this are observed alone: copying one into a stack costs more than the nodes it
 * saves. PaddleOCR det at 320×320 observes 14 M values a sample, mostly in tensors of 100 k–400 k values;
 * stacked, its calibration took 1.57× a float inference (minmax) and 2.83× (entropy), alone 1.43× and
 * 2.65× (means of three interleaved runs of 64 samples at one thread).
 */
const STACK_TENSOR_VALUES = 1 << 16;
/** Inputs of one Concat of the mins (maxes): onnxruntime loads a Concat of thousands of inputs slowly. */
const FAN_IN = 64;

const MINS = 'onnxq_mins';
const MAXS = 'onnxq_maxs';
const OFFSET = 'onnxq_offset';

/** Tensors observed together: one row each, of `size` values per sample, subsampled every `stride`. */
interface Stack {
  index: number;
  name: string;
  tensors: number[];
  stride: number;
}

export type Fetched = Record<string, { data: unknown; dims?: readonly number[] }>;

export class Probes {
  private readonly stacks: Stack[] = [];
  /** For each tensor (by its index), its stack and row, and its position among all mins. */
  private readonly place: { stack: number; row: number; at: number }[] = [];

  /**
   * `sizes`: values of each tensor per sample (tensors not listed, or of size 0, get a stack of their own);
   * `budget`: values of each tensor per sample that histograms see (0 = all).
   */
  constructor(
    private readonly model: ModelProto,
    private readonly base: Augmentation,
    private readonly tensors: readonly string[],
    private readonly sizes: ReadonlyMap<string, number>,
    private readonly budget: number,
    readonly stacked = true,
  ) {
    const open = new Map<number, Stack>();
    for (const [i, t] of tensors.entries()) {
      const size = sizes.get(t) ?? 0;
      const stackable = stacked && size > 0 && size <= STACK_TENSOR_VALUES;
      let stack = stackable ? open.get(size) : undefined;
      if (!stack || stack.tensors.length >= STACK_ROWS || (stack.tensors.length + 1) * size > STACK_VALUES) {
        stack = { index: this.stacks.length, name: `onnxq_stack_${this.stacks.length}`, tensors: [], stride: budget > 0 ? Math.max(1, Math.ceil(size / budget)) : 1 };
        this.stacks.push(stack);
        if (stackable) open.set(size, stack);
      }
      this.place[i] = { stack: stack.index, row: stack.tensors.length, at: 0 };
      stack.tensors.push(i);
      // A stack is closed once it cannot take another row of this size.
      if (stack.tensors.length >= STACK_ROWS || (stack.tensors.length + 1) * size > STACK_VALUES) open.delete(size);
    }
    // The mins (maxes) leave as one tensor: stacks in order, rows in order.
    let at = 0;
    for (const s of this.stacks) for (const i of s.tensors) this.place[i]!.at = at++;
  }

  /** The same tensors with one row per stack: for inputs whose shapes vary from sample to sample. */
  unstacked(): Probes {
    return new Probes(this.model, this.base, this.tensors, this.sizes, this.budget, false);
  }

  private get strided(): boolean {
    return this.stacks.some((s) => s.stride > 1);
  }

  /** What the probes add to the model: min and max of every tensor (`reductions`), and its subsample (`values`). */
  augmentation(reductions: boolean, values: boolean): Required<Omit<Augmentation, 'withoutValueInfo'>> {
    const add: Required<Omit<Augmentation, 'withoutValueInfo'>> = { nodes: [...(this.base.nodes ?? [])], initializers: [...(this.base.initializers ?? [])], inputs: [], outputs: [] };
    add.initializers.push(int64Tensor('onnxq_row', [2], [1, -1]));
    for (const s of this.stacks) {
      // A stack of one row is that row.
      const rows = s.tensors.length === 1 ? [s.name] : s.tensors.map((i) => `${this.tensors[i]}__onnxq_row`);
      s.tensors.forEach((i, r) => add.nodes.push(makeNode({ opType: 'Reshape', inputs: [this.tensors[i]!, 'onnxq_row'], outputs: [rows[r]!] })));
      if (rows.length > 1) add.nodes.push(makeNode({ opType: 'Concat', inputs: rows, outputs: [s.name], attrs: { axis: 0 } }));
    }
    if (reductions) {
      const byAxis1 = reduceOverAxis1(opsetVersion(this.model), add.initializers);
      for (const [op, all] of [['ReduceMin', MINS], ['ReduceMax', MAXS]] as const) {
        const parts = this.stacks.map((s) => {
          const out = `${s.name}_${op}`;
          add.nodes.push(byAxis1(op, s.name, out));
          return out;
        });
        concatTree(parts, all, add.nodes);
        add.outputs.push(all);
      }
    }
    if (values) {
      if (this.strided) {
        add.inputs.push(makeValueInfo(OFFSET, { dtype: DT.INT64, shape: [1] }));
        add.initializers.push(int64Tensor('onnxq_axis1', [1], [1]), endTensor());
      }
      const steps = new Set<number>();
      for (const s of this.stacks) {
        const k = s.stride;
        if (k === 1) {
          add.outputs.push(s.name);
          continue;
        }
        if (!steps.has(k)) {
          steps.add(k);
          add.initializers.push(int64Tensor(`onnxq_step_${k}`, [1], [k]));
          add.nodes.push(makeNode({ opType: 'Mod', inputs: [OFFSET, `onnxq_step_${k}`], outputs: [`onnxq_start_${k}`] }));
        }
        add.nodes.push(makeNode({ opType: 'Slice', inputs: [s.name, `onnxq_start_${k}`, 'onnxq_end', 'onnxq_axis1', `onnxq_step_${k}`], outputs: [`${s.name}_sub`] }));
        add.outputs.push(`${s.name}_sub`);
      }
    }
    return add;
  }

  fetches(reductions: boolean, values: boolean): string[] {
    const out: string[] = reductions ? [MINS, MAXS] : [];
    if (values) for (const s of this.stacks) out.push(s.stride > 1 ? `${s.name}_sub` : s.name);
    return out;
  }

  /**
   * `values`: whether the session was opened with the values probes, the only model that has the offset
   * input (onnxruntime-web refuses a feed the model lacks; Node's onnxruntime ignores it).
   */
  feeds(feeds: Sample, batch: number, values: boolean): Sample {
    return this.strided && values ? { ...feeds, [OFFSET]: { dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(batch)) } } : feeds;
  }

  /** Tensor i's min and max in this run. */
  range(i: number, out: Fetched): { min: number; max: number } {
    const { at } = this.place[i]!;
    return { min: (out[MINS]!.data as Float32Array)[at]!, max: (out[MAXS]!.data as Float32Array)[at]! };
  }

  /** The values tensor i's observers see in this run: its subsample, or all of it (a view, not to keep). */
  values(i: number, out: Fetched): Float32Array {
    const { stack, row } = this.place[i]!;
    const s = this.stacks[stack]!;
    const data = out[s.stride > 1 ? `${s.name}_sub` : s.name]!.data as Float32Array;
    const width = data.length / s.tensors.length;
    return data.subarray(row * width, (row + 1) * width);
  }
}

/** ReduceMin/ReduceMax over axis 1 without keeping it: an attribute before opset 18, an input from 18. */
function reduceOverAxis1(opset: number, initializers: TensorProto[]): (op: string, input: string, output: string) => NodeProto {
  if (opset < 18) return (op, input, output) => makeNode({ opType: op, inputs: [input], outputs: [output], attrs: { axes: [1], keepdims: 0 } });
  initializers.push(int64Tensor('onnxq_axes1', [1], [1]));
  return (op, input, output) => makeNode({ opType: op, inputs: [input, 'onnxq_axes1'], outputs: [output], attrs: { keepdims: 0 } });
}

/** Concatenates `parts` into `output` through Concats of at most FAN_IN inputs each. */
function concatTree(parts: string[], output: string, nodes: NodeProto[]): void {
  let level = parts;
  for (let depth = 0; level.length > FAN_IN; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += FAN_IN) {
      const name = `${output}_${depth}_${next.length}`;
      nodes.push(makeNode({ opType: 'Concat', inputs: level.slice(i, i + FAN_IN), outputs: [name], attrs: { axis: 0 } }));
      next.push(name);
    }
    level = next;
  }
  nodes.push(makeNode({ opType: 'Concat', inputs: level, outputs: [output], attrs: { axis: 0 } }));
}

function endTensor(): TensorProto {
  const t = int64Tensor('onnxq_end', [1], [0]);
  new DataView(t.rawData.buffer, t.rawData.byteOffset).setBigInt64(0, 2n ** 63n - 1n, true);
  return t;
}
