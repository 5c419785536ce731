/**
 * Node-only file handling: loading models (with their external data) and writing outputs
 * atomically — every file goes to a temporary name in the target folder and is renamed into place,
 * so a failure never leaves a half-written file, and an input file is never written over.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelProto } from 'onnx-buf';
import { fail, OnnxqError } from '../errors.js';
import { decodeModel, encodeModel, tensorPayloadBytes, PROTOBUF_LIMIT, type DataChunk } from '../onnx/codec.js';

export function readFileOrFail(file: string, what: string): Uint8Array {
  try {
    // A FIFO or a device would block the read forever, or never end.
    const st = fs.statSync(file);
    if (!st.isFile() && !st.isDirectory()) fail('IO', `cannot read ${what} ${file}: it is not a regular file (a pipe, socket or device). Give the path of a file.`);
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof OnnxqError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    fail('IO', `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message}.`, e);
  }
}

export interface LoadedModel {
  model: ModelProto;
  /** Absolute paths of the external data files the model read, which a save must never overwrite. */
  externalFiles: string[];
}

/**
 * Reads a model file. Tensors in external data files stay there: their files and places are checked
 * now, their bytes are read when a pass needs them (see onnx/external.ts), so a model of gigabytes
 * costs little memory until it is used, and onnxruntime can be handed the files themselves.
 */
export function loadModelFile(file: string): LoadedModel {
  const bytes = readFileOrFail(file, 'model');
  const dir = path.dirname(path.resolve(file));
  let realDir: string | undefined;
  const sizes = new Map<string, number>();
  const model = decodeModel(bytes, file, (location, offset, length, tensor) => {
    realDir ??= fs.realpathSync(dir);
    const full = dataFile(file, realDir, path.join(dir, location), location, tensor);
    let size = sizes.get(full);
    if (size === undefined) sizes.set(full, (size = fs.statSync(full).size));
    const n = length ?? size - offset;
    if (offset > size || offset + n > size)
      fail('EXTERNAL_DATA', `${file}: external data file '${location}' is ${size} bytes, but tensor '${tensor}' needs bytes ${offset}..${offset + n}. The data file is truncated or belongs to another model.`);
    return { folder: dir, file: full, offset, length: n, read: () => readRange(full, offset, n, file) };
  });
  return { model, externalFiles: [...sizes.keys()] };
}

/**
 * The real path of a tensor's external data file, which must be a regular file inside the model's real
 * folder: the location's text is checked when the model is decoded, but a symbolic link in the folder
 * could still point anywhere (/etc/passwd), and a folder or a FIFO would fail or block the read.
 */
function dataFile(model: string, realDir: string, full: string, location: string, tensor: string): string {
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch (e) {
    fail('EXTERNAL_DATA', `${model}: its external data file '${location}' is missing (looked for ${full}, for tensor '${tensor}'). Copy the data file next to the model.`, e);
  }
  const inside = path.relative(realDir, real);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside))
    fail(
      'EXTERNAL_DATA',
      `${model}: tensor '${tensor}' keeps its data in '${location}', which leads (through a symbolic link) to ${real}, outside the model's folder ${realDir}. ` +
        'onnxq reads external data only from files inside the model\'s folder: put the data file itself there.',
    );
  const st = fs.statSync(real);
  if (!st.isFile())
    fail('EXTERNAL_DATA', `${model}: tensor '${tensor}' keeps its data in '${location}', which is ${st.isDirectory() ? 'a folder' : 'not a regular file (a pipe, socket or device)'}. Point it at the model's data file.`);
  return real;
}

/** `length` bytes at `offset` of a data file, read when a pass asks for a tensor. */
function readRange(file: string, offset: number, length: number, model: string): Uint8Array {
  let fd: number;
  try {
    // The checked real path, never through a link put there since, and still a regular file.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd);
      throw new Error('it is no longer a regular file');
    }
  } catch (e) {
    fail('EXTERNAL_DATA', `${model}: its external data file ${file} can no longer be read (${(e as Error).message}).`, e);
  }
  try {
    const buf = Buffer.allocUnsafe(length);
    for (let done = 0; done < length; ) {
      const got = fs.readSync(fd, buf, done, length - done, offset + done);
      if (got === 0) fail('EXTERNAL_DATA', `${model}: external data file ${file} ended before byte ${offset + length}; was it changed while onnxq ran?`);
      done += got;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
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
  chunks: DataChunk[] | Uint8Array | string;
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
      // A name no one can guess, created afresh: a file or link planted there makes the open fail
      // rather than be written through.
      const s = { tmp: path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(8).toString('hex')}.tmp`), file, bytes: 0 };
      s.bytes = writeNewFile(s.tmp, chunks, () => staged.push(s)); // pushed once created: a write that fails halfway leaves it to remove
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

/**
 * Creates `file` — never an existing file, never through a symbolic link — and writes the chunks.
 * `created` runs once the file exists, before any byte is written. Returns the bytes written.
 */
export function writeNewFile(file: string, chunks: PendingFile['chunks'], created?: () => void, mode = 0o666): number {
  let bytes = 0;
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
  created?.();
  try {
    for (const c of typeof chunks === 'string' || chunks instanceof Uint8Array ? [chunks] : chunks) {
      // A chunk read from another file is read now, written and let go before the next.
      const b = typeof c === 'string' ? Buffer.from(c) : typeof c === 'function' ? c() : c;
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
  // Compared as real paths: through a linked folder, or a link in place of the output, an input is the same file.
  const real = (p: string) => {
    const abs = path.resolve(p);
    try {
      return fs.realpathSync(abs);
    } catch {
      return path.join(fs.existsSync(path.dirname(abs)) ? fs.realpathSync(path.dirname(abs)) : path.dirname(abs), path.basename(abs));
    }
  };
  const target = real(file);
  for (const p of protect)
    if (real(p) === target)
      fail('BAD_OPTION', `refusing to write ${file}: it is one of the input files. Choose another output path (-o).`);
  const dir = path.dirname(full);
  if (!fs.existsSync(dir)) fail('IO', `cannot write ${file}: the folder ${dir} does not exist.`);
  if (fs.statSync(full, { throwIfNoEntry: false })?.isDirectory()) fail('IO', `cannot write ${file}: it is a folder. Give a file path.`);
}

/**
 * Checks, before any work, every file a run will write: a model at `output` (and `<output>.data`, where
 * its weights go when stored apart) and the side files given; none may be an input in `protect`, and no
 * two may be the same file.
 */
export function assertOutputs(output: string, sideFiles: readonly (string | undefined)[], protect: string[]): void {
  for (const out of [output, ...sideFiles]) if (out) assertWritable(out, protect);
  const outputs = [output, `${output}.data`, ...sideFiles].filter((p): p is string => !!p).map((p) => path.resolve(p));
  if (new Set(outputs).size !== outputs.length) fail('BAD_OPTION', `two outputs name the same file (the model's own data file is ${output}.data); give each output its own path.`);
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
