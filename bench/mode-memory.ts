/**
 * Peak memory of the modes without data on a large model: a generated stack of transformer-sized
 * MLP blocks (x + W2·relu(W1·x), 1024 → 4096 → 1024), the shape of the weights transformers.js users
 * quantize. Each mode runs in a fresh process (bench/mode-memory-child.ts) as the CLI runs it, from
 * the file and with validation; the table gives the peak resident set and its ratio to the file size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { saveModelFile, type OfflineFileOptions } from '../src/index.js';
import { makeNode } from '../src/ir/node.js';
import { makeValueInfo } from '../src/ir/types.js';
import { DT } from '../src/onnx/dtype.js';
import { floatTensor } from '../src/onnx/tensor.js';
import { createRng } from '../src/data/random.js';
import type { ModeMemoryResult } from './mode-memory-child.js';
import { jsonChild } from './memory.js';
import { db, errorLine, mb, table, x } from './report.js';

const CHILD = fileURLToPath(new URL('./mode-memory-child.js', import.meta.url));
const HIDDEN = 1024;
const FFN = 4096;

const MODES: { name: string; options: OfflineFileOptions }[] = [
  { name: 'weight-only 4-bit', options: { mode: 'weight-only', bits: 4 } },
  { name: 'weight-only 4-bit hqq', options: { mode: 'weight-only', bits: 4, weightMethod: 'hqq' } },
  { name: 'dynamic int8', options: { mode: 'dynamic' } },
  { name: 'fp16', options: { mode: 'fp16' } },
];

export interface ModeMemoryRow {
  mode: string;
  fileBytes: number;
  result?: ModeMemoryResult;
  error?: string;
}

/** Writes `blocks` MLP blocks with seeded weights (std 0.02) to `file`; returns its size in bytes. */
function writeMlpStack(file: string, blocks: number): number {
  const rng = createRng(7);
  const weight = (name: string, rows: number, cols: number) => floatTensor(name, [rows, cols], Float32Array.from({ length: rows * cols }, () => (rng.nextFloat() - 0.5) * 0.07));
  const nodes = [];
  const initializers = [];
  let x = 'x';
  for (let b = 0; b < blocks; b++) {
    initializers.push(weight(`w${b}_up`, HIDDEN, FFN), weight(`w${b}_down`, FFN, HIDDEN));
    nodes.push(
      makeNode({ opType: 'MatMul', name: `up${b}`, inputs: [x, `w${b}_up`], outputs: [`h${b}`] }),
      makeNode({ opType: 'Relu', name: `relu${b}`, inputs: [`h${b}`], outputs: [`r${b}`] }),
      makeNode({ opType: 'MatMul', name: `down${b}`, inputs: [`r${b}`, `w${b}_down`], outputs: [`d${b}`] }),
      makeNode({ opType: 'Add', name: `res${b}`, inputs: [x, `d${b}`], outputs: [`x${b}`] }),
    );
    x = `x${b}`;
  }
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph: create(GraphProtoSchema, {
      name: 'mlp-stack',
      node: nodes,
      initializer: initializers,
      input: [makeValueInfo('x', { dtype: DT.FLOAT, shape: [4, HIDDEN] })],
      output: [makeValueInfo(x, { dtype: DT.FLOAT, shape: [4, HIDDEN] })],
    }),
  });
  return saveModelFile(model, file).bytes;
}

export async function modeMemory(blocks: number, log: (line: string) => void): Promise<ModeMemoryRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-bench-memory-'));
  try {
    const input = path.join(dir, 'mlp.onnx');
    const fileBytes = writeMlpStack(input, blocks);
    log(`  mode memory: generated ${blocks} MLP blocks (${mb(fileBytes)})`);
    const rows: ModeMemoryRow[] = [];
    for (const m of MODES) {
      try {
        const result = await jsonChild<ModeMemoryResult>(CHILD, [input, path.join(dir, 'out.onnx'), JSON.stringify(m.options)]);
        rows.push({ mode: m.name, fileBytes, result });
        log(`  mode memory: ${m.name} — peak RSS ${mb(result.peakRssBytes)} in ${(result.wallMs / 1000).toFixed(1)} s`);
      } catch (e) {
        rows.push({ mode: m.name, fileBytes, error: errorLine(e) });
      }
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printModeMemory(rows: ModeMemoryRow[]): void {
  table(
    `Peak memory of the modes without data — a generated ${rows[0] ? mb(rows[0].fileBytes) : ''} model of 1024→4096→1024 MLP blocks, one process per mode, as the CLI runs (from the file, validated)`,
    ['mode', 'file', 'RSS before', 'peak RSS (VmHWM)', 'peak ÷ file', '(peak − before) ÷ file', 'time', 'SQNR'],
    rows.map((r) => {
      const res = r.result;
      if (!res) return [r.mode, mb(r.fileBytes), `failed: ${r.error}`];
      return [
        r.mode, mb(r.fileBytes), mb(res.rssBeforeBytes), mb(res.peakRssBytes), x(res.peakRssBytes / r.fileBytes),
        x((res.peakRssBytes - res.rssBeforeBytes) / r.fileBytes), `${(res.wallMs / 1000).toFixed(1)} s`, res.sqnr !== undefined ? db(res.sqnr) : '–',
      ];
    }),
    ['peak covers the file read, the weights in their new form, the written model, and onnxruntime holding the float and the new model for the validation.'],
  );
}
