/**
 * The stager the core's Runner uses (runtime/runner.ts) to hand onnxruntime a model as a file. A model
 * whose weights are still in their external files is written beside those files under a fresh hidden
 * name — onnxruntime accepts external data only inside the model's own folder — pointing at them where
 * they are, so no weight is copied; tensors onnxq made in memory go in the file itself, or, were they
 * many, into a data file of their own beside it. A model held wholly in memory is written to a fresh
 * temporary folder, its weights in a data file written tensor by tensor (never one buffer of them all).
 * Everything is removed once onnxruntime has read it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, type ModelProto } from 'onnx-buf';
import { fail, OnnxqError } from '../errors.js';
import { encodeModel, PROTOBUF_LIMIT, type DataChunk } from '../onnx/codec.js';
import { externalOf } from '../onnx/external.js';
import { forEachTensor } from '../onnx/walk.js';
import { useStager, withAugmentation, type Augmentation } from '../runtime/runner.js';
import { whileAbandonable } from './abandon.js';
import { writeNewFile } from './files.js';

export function stageForSession(model: ModelProto, add: Augmentation): { path: string; remove(): void } {
  let dir: string | undefined;
  let inline = 0;
  forEachTensor(model.graph!, (t) => {
    const e = externalOf(t);
    if (!e) inline += t.rawData.length;
    else if (!dir) dir = e.folder;
    else if (e.folder !== dir) throw new Error('stageForSession: tensors of two model folders'); // a model's data locations are relative to its one folder
  });
  for (const t of add.initializers ?? []) inline += t.rawData.length;
  const files: string[] = [];
  let tempDir: string | undefined;
  const removeFiles = () => {
    for (const f of files) fs.rmSync(f, { force: true });
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  };
  const settled = whileAbandonable(removeFiles);
  const remove = () => {
    removeFiles();
    settled();
  };
  if (!dir) dir = tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-session-'));
  const base = path.join(dir, `.onnxq-session-${crypto.randomBytes(6).toString('hex')}`);
  try {
    const spill = tempDir !== undefined || inline >= PROTOBUF_LIMIT / 2;
    // Tensors in external files are written as they were loaded: locations relative to this folder.
    const encoded = withAugmentation(model, add, (m) =>
      spill ? encodeModel(m, { externalData: { location: path.basename(`${base}.data`), keepExternal: true } }) : { model: toBinary(ModelProtoSchema, m), data: [] },
    );
    const write = (file: string, chunks: DataChunk[]) => writeNewFile(file, chunks, () => files.push(file), 0o600);
    if (encoded.data.length) write(`${base}.data`, encoded.data);
    write(`${base}.onnx`, [encoded.model]);
  } catch (e) {
    remove();
    if (e instanceof OnnxqError) throw e; // e.g. an external data file that can no longer be read
    fail('IO', `onnxq writes a model for onnxruntime beside its weights, in ${dir}, and could not: ${(e as Error).message}. Make that folder writable, or copy the model and its data files to one that is.`, e);
  }
  return { path: `${base}.onnx`, remove };
}

useStager(stageForSession);
