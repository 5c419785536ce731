/**
 * Node-only file handling: loading models (with their external data) and writing outputs
 * atomically — every file goes to a temporary name in the target folder and is renamed into place,
 * so a failure never leaves a half-written file, and an input file is never written over.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { fail } from '../errors.js';
import { decodeModel, encodeModel, tensorPayloadBytes, PROTOBUF_LIMIT } from '../onnx/codec.js';

export function readFileOrFail(file: string, what: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail('IO', `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message}.`, e);
  }
}

export interface LoadedModel {
  model: ModelProto;
  /** Absolute paths of the external data files the model read, which a save must never overwrite. */
  externalFiles: string[];
}

export function loadModelFile(file: string): LoadedModel {
  const bytes = readFileOrFail(file, 'model');
  const dir = path.dirname(path.resolve(file));
  const externalFiles = new Set<string>();
  const model = decodeModel(bytes, file, (location, offset, length) => {
    const full = path.join(dir, location);
    externalFiles.add(full);
    let fd: number;
    try {
      fd = fs.openSync(full, 'r');
    } catch (e) {
      fail('EXTERNAL_DATA', `${file}: its external data file '${location}' is missing (looked for ${full}). Copy the data file next to the model.`, e);
    }
    try {
      const size = fs.fstatSync(fd).size;
      const n = length ?? size - offset;
      if (offset + n > size)
        fail('EXTERNAL_DATA', `${file}: external data file '${location}' is ${size} bytes, but a tensor needs bytes ${offset}..${offset + n}. The data file is truncated or belongs to another model.`);
      const buf = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) done += fs.readSync(fd, buf, done, n - done, offset + done);
      return buf;
    } finally {
      fs.closeSync(fd);
    }
  });
  return { model, externalFiles: [...externalFiles] };
}

export interface SaveOptions {
  /** Force external data (it is used anyway when the model would pass 2 GiB). */
  externalData?: boolean;
  /** Files that must not be written over: the input model and its data files. */
  protect?: string[];
}

export interface SavedFiles {
  model: string;
  data?: string;
  bytes: number;
}

/** A file to write: its path and its contents. */
export interface PendingFile {
  file: string;
  chunks: Uint8Array[] | Uint8Array | string;
}

/**
 * Writes all the files or none: each goes to a temporary name beside its target, and only when
 * every one is complete are they renamed into place, in the order given (a model's data file before
 * the model that points at it). A failure removes the temporary files and whatever was already
 * renamed. Returns the bytes written per file.
 */
export function writeAllAtomic(files: readonly PendingFile[]): number[] {
  const targets = files.map((f) => path.resolve(f.file));
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  if (twice) fail('BAD_OPTION', `two outputs would be written to ${twice}; give each output its own path.`);
  const staged: { tmp: string; file: string; bytes: number }[] = [];
  const undo = (placed: readonly string[]) => {
    for (const s of staged) fs.rmSync(s.tmp, { force: true });
    for (const f of placed) fs.rmSync(f, { force: true });
  };
  let current = '';
  try {
    for (const { file, chunks } of files) {
      current = file;
      const s = { tmp: path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`), file, bytes: 0 };
      staged.push(s); // before writing: a write that fails halfway leaves a temporary file to remove
      s.bytes = writeChunks(s.tmp, chunks);
    }
  } catch (e) {
    undo([]);
    fail('IO', `cannot write ${current}: ${(e as Error).message}`, e);
  }
  const placed: string[] = [];
  try {
    for (const s of staged) {
      current = s.file;
      fs.renameSync(s.tmp, s.file);
      placed.push(s.file);
    }
  } catch (e) {
    undo(placed);
    fail('IO', `cannot write ${current}: ${(e as Error).message}`, e);
  }
  return staged.map((s) => s.bytes);
}

function writeChunks(file: string, chunks: PendingFile['chunks']): number {
  let bytes = 0;
  const fd = fs.openSync(file, 'w');
  try {
    for (const c of typeof chunks === 'string' || chunks instanceof Uint8Array ? [chunks] : chunks) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      let off = 0;
      while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
      bytes += b.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}

/** Writes one file via a temporary file and a rename. Returns the bytes written. */
export function writeAtomic(file: string, chunks: PendingFile['chunks']): number {
  return writeAllAtomic([{ file, chunks }])[0]!;
}

export function assertWritable(file: string, protect: string[] = []): void {
  const full = path.resolve(file);
  for (const p of protect)
    if (path.resolve(p) === full)
      fail('BAD_OPTION', `refusing to write ${file}: it is one of the input files. Choose another output path (-o).`);
  const dir = path.dirname(full);
  if (!fs.existsSync(dir)) fail('IO', `cannot write ${file}: the folder ${dir} does not exist.`);
  if (fs.statSync(full, { throwIfNoEntry: false })?.isDirectory()) fail('IO', `cannot write ${file}: it is a folder. Give a file path.`);
}

/**
 * The files a model is saved as: the model alone, or its external data file first and then the
 * model (so that a model never points at a data file that is not there yet). Paths are checked.
 */
function modelFiles(model: ModelProto, file: string, options: SaveOptions = {}): PendingFile[] {
  assertWritable(file, options.protect);
  const useExternal = options.externalData || tensorPayloadBytes(model) >= PROTOBUF_LIMIT;
  if (!useExternal) return [{ file, chunks: encodeModel(model).model }];
  const location = `${path.basename(file)}.data`;
  const dataFile = path.join(path.dirname(file), location);
  assertWritable(dataFile, options.protect);
  const encoded = encodeModel(model, { externalData: { location } });
  if (encoded.data.length === 0) return [{ file, chunks: encoded.model }]; // every tensor was small
  return [
    { file: dataFile, chunks: encoded.data },
    { file, chunks: encoded.model },
  ];
}

/** Saves a model, with its side files (plan, ranges …) if given, all or nothing. */
export function saveModelFile(model: ModelProto, file: string, options: SaveOptions = {}, sideFiles: readonly PendingFile[] = []): SavedFiles {
  const files = modelFiles(model, file, options);
  for (const f of sideFiles) assertWritable(f.file, options.protect);
  const bytes = writeAllAtomic([...files, ...sideFiles]);
  const modelBytes = bytes.slice(0, files.length).reduce((a, b) => a + b, 0);
  return { model: file, ...(files.length === 2 ? { data: files[0]!.file } : {}), bytes: modelBytes };
}
