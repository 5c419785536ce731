/**
 * Hostile files: models that try to read outside their folder, block the reader, plant links where
 * onnxq writes, or print escapes on the user's terminal — each built here and run through the CLI as a
 * user would, with its expected outcome: a named error and nothing written, or a correct model.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema, TensorProto_DataLocation, type ModelProto } from 'onnx-buf';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile, saveModelFile, writeNewFile } from '../../src/node/files.js';
import { buildModel, randomFloats, randomWeight } from '../helpers/build.js';
import { writeNpy } from '../../src/data/npy-file.js';
import { CLI_BIN, expectCleanFailure, onnxq } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const MODES = [['--mode', 'dynamic'], ['--mode', 'weight-only'], ['--mode', 'fp16']];

function matmulModel(names: { input?: string; node?: string; producer?: string } = {}): ModelProto {
  const model = buildModel({
    inputs: [{ name: names.input ?? 'x', dims: [1, 64] }],
    outputs: [{ name: 'y' }],
    initializers: [randomWeight('w', [64, 64], 4)],
    nodes: [{ opType: 'MatMul', name: names.node ?? 'mm', inputs: [names.input ?? 'x', 'w'], outputs: ['y'] }],
  });
  if (names.producer) model.producerName = names.producer;
  return model;
}

/** A model whose weight 'w' is read from `location` in its folder (offset and length as given). */
function externalModel(dir: string, location: string, fields: Record<string, string> = {}): string {
  const m = matmulModel();
  const w = m.graph!.initializer[0]!;
  w.rawData = new Uint8Array(0);
  w.dataLocation = TensorProto_DataLocation.EXTERNAL;
  w.externalData = Object.entries({ location, ...fields }).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value }));
  const file = path.join(dir, 'model.onnx');
  saveModelFile(m, file);
  return file;
}

/** The files in `dir` (hidden ones too), for checking that a failure left nothing behind. */
const listing = (dir: string) => fs.readdirSync(dir).sort();

describe('external data that escapes or blocks', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('onnxq-hostile-');
  });

  it('a data file that is a symbolic link out of the folder is refused, naming the tensor and where the link leads', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'link-'));
    fs.symlinkSync('/etc/passwd', path.join(sub, 'weights.bin'));
    const model = externalModel(sub, 'weights.bin', { length: '40' });
    const before = listing(sub);
    expectCleanFailure(onnxq(['inspect', model]), /tensor 'w' keeps its data in 'weights\.bin', which leads \(through a symbolic link\) to \/etc\/passwd, outside the model's folder/);
    for (const mode of MODES) {
      const r = onnxq(['quantize', model, '-o', path.join(sub, 'out.onnx'), ...mode, '--no-validate']);
      expectCleanFailure(r, /outside the model's folder/);
    }
    expect(listing(sub)).toEqual(before);
  });

  it('a linked folder holding the data is refused too; a link that stays inside the folder is followed', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'dirlink-'));
    const outside = fs.mkdtempSync(path.join(dir, 'outside-'));
    const good = matmulModel();
    saveModelFile(good, path.join(outside, 'real.onnx'), { externalData: true });
    fs.symlinkSync(outside, path.join(sub, 'data'));
    expectCleanFailure(onnxq(['inspect', externalModel(sub, 'data/real.onnx.data')]), /outside the model's folder/);
    // Inside: weights.bin → the model's own data file beside it.
    const inside = fs.mkdtempSync(path.join(dir, 'inside-'));
    saveModelFile(good, path.join(inside, 'real.onnx'), { externalData: true });
    fs.symlinkSync('real.onnx.data', path.join(inside, 'weights.bin'));
    const r = onnxq(['inspect', externalModel(inside, 'weights.bin')]);
    expect(r.code, r.stderr).toBe(0);
    // 'data/../w.bin' reads as a file beside the model, but the OS follows the link first: any '..' is refused.
    fs.writeFileSync(path.join(sub, 'real.onnx.data'), new Uint8Array(64 * 64 * 4));
    expectCleanFailure(onnxq(['inspect', externalModel(sub, 'data/../real.onnx.data')]), /reaches it through '\.\.'/);
  });

  it('a data file that is a folder, or a FIFO, is refused at once (no hang)', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'special-'));
    fs.mkdirSync(path.join(sub, 'folder'));
    expectCleanFailure(onnxq(['inspect', externalModel(sub, 'folder')]), /'folder', which is a folder/);
    const fifo = path.join(sub, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expectCleanFailure(onnxq(['inspect', externalModel(sub, 'pipe')]), /'pipe', which is not a regular file/);
    expectCleanFailure(onnxq(['quantize', externalModel(sub, 'pipe'), '-o', path.join(sub, 'o.onnx'), '--mode', 'dynamic', '--no-validate']), /not a regular file/);
    // The model itself a FIFO.
    expectCleanFailure(onnxq(['inspect', fifo]), /is not a regular file \(a pipe, socket or device\)/);
  });

  it('offsets and lengths that are not whole numbers of bytes, or reach past the file, name the tensor', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'fields-'));
    fs.writeFileSync(path.join(sub, 'w.bin'), new Uint8Array(64 * 64 * 4));
    for (const [fields, why] of [
      [{ offset: 'abc' }, /tensor 'w' gives its external data offset as 'abc', which is not a whole number of bytes/],
      [{ offset: '-4' }, /offset as '-4'/],
      [{ length: '1.5' }, /length as '1\.5'/],
      [{ offset: '1e3' }, /offset as '1e3'/],
      [{ offset: '16384' }, /tensor 'w' \(float32 \[64, 64\]\) takes 16384 bytes, but its external data in 'w\.bin' gives 0/],
      [{ offset: '4', length: '16384' }, /is 16384 bytes, but tensor 'w' needs bytes 4\.\.16388/],
    ] as const) {
      const model = externalModel(sub, 'w.bin', fields);
      expectCleanFailure(onnxq(['inspect', model]), why);
      expectCleanFailure(onnxq(['quantize', model, '-o', path.join(sub, 'o.onnx'), '--mode', 'fp16', '--no-validate']), why);
    }
    expect(listing(sub).filter((f) => f.startsWith('o.onnx') || f.startsWith('.o.onnx'))).toEqual([]);
  });
});

describe('where onnxq writes', () => {
  it('creates its files afresh: an existing file or a link at the name is not written through', () => {
    const dir = tempDir('onnxq-hostile-');
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    fs.symlinkSync(victim, path.join(dir, 'planted'));
    expect(() => writeNewFile(path.join(dir, 'planted'), 'model bytes')).toThrow(/EEXIST/);
    expect(() => writeNewFile(victim, 'model bytes')).toThrow(/EEXIST/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it('an output path that is a link is replaced by the model, and the link\'s target is left alone', () => {
    const dir = tempDir('onnxq-hostile-');
    const input = path.join(dir, 'in.onnx');
    saveModelFile(matmulModel(), input);
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    const out = path.join(dir, 'out.onnx');
    fs.symlinkSync(victim, out);
    const r = onnxq(['quantize', input, '-o', out, '--mode', 'dynamic', '--no-validate']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.lstatSync(out).isFile()).toBe(true);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    expect(listing(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // A link to the input itself is refused as writing over the input.
    fs.rmSync(out);
    fs.symlinkSync(input, out);
    expectCleanFailure(onnxq(['quantize', input, '-o', out, '--mode', 'dynamic', '--no-validate']), /refusing to write .*out\.onnx: it is one of the input files/);
  });
});

describe('an interrupted run', () => {
  it('Ctrl-C while onnxruntime reads a staged model leaves nothing beside the model, and exits 130', async () => {
    const dir = tempDir('onnxq-hostile-');
    // 40 MB of weights in external data: the model is staged beside them while each session opens.
    const nodes = Array.from({ length: 10 }, (_, i) => ({ opType: 'MatMul', name: `mm${i}`, inputs: [i ? `h${i}` : 'x', `w${i}`], outputs: [i === 9 ? 'y' : `h${i + 1}`] }));
    const m = buildModel({ inputs: [{ name: 'x', dims: [1, 1024] }], outputs: [{ name: 'y' }], nodes, initializers: nodes.map((_, i) => randomWeight(`w${i}`, [1024, 1024], i, 0.03)) });
    saveModelFile(m, path.join(dir, 'm.onnx'), { externalData: true });
    writeNpy(path.join(dir, 'c.npy'), { dtype: 'float32', dims: [4, 1, 1024], data: randomFloats(4096, 1) });
    const before = listing(dir);
    const child = spawn(process.execPath, [CLI_BIN, 'quantize', 'm.onnx', '-o', 'out.onnx', '--calib', 'c.npy'], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let staged = false;
    for (let i = 0; i < 2000 && !staged && child.exitCode === null; i++) {
      staged = fs.readdirSync(dir).some((f) => f.startsWith('.onnxq-session-'));
      if (staged) child.kill('SIGINT');
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect(staged, 'the run ended before a staged model was seen').toBe(true);
    expect(await exited).toBe(130);
    expect(listing(dir)).toEqual(before);
  }, 60_000);
});

describe('names that talk to the terminal', () => {
  const ESC = '\x1b';
  const forged = `${ESC}[2J${ESC}[H\nonnxq: all good\u202e`;

  it('inspect, quantize and their errors print escapes for control characters, one line each', () => {
    const dir = tempDir('onnxq-hostile-');
    const model = path.join(dir, 'names.onnx');
    saveModelFile(matmulModel({ input: `x${forged}`, node: `mm${forged}`, producer: `p${forged}` }), model);
    const shown = onnxq(['inspect', model]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('x\\x1b[2J\\x1b[H\\x0aonnxq: all good\\u202e');
    expect(shown.stdout).not.toContain(ESC);
    expect(shown.stdout).not.toContain('\u202e');
    expect(shown.stdout.split('\n').some((l) => l.startsWith('onnxq: all good'))).toBe(false);
    const json = onnxq(['inspect', model, '--json']);
    expect(json.stdout).not.toContain(ESC);
    expect(json.stdout).not.toContain('\u202e');
    expect((JSON.parse(json.stdout) as { inputs: { name: string }[] }).inputs[0]!.name).toBe(`x${forged}`);
    for (const mode of MODES) {
      const r = onnxq(['quantize', model, '-o', path.join(dir, 'out.onnx'), ...mode, '--no-validate']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
    // An error that quotes a name: one line, escaped.
    const m = loadModelFile(model).model;
    m.graph!.initializer[0]!.externalData = [create(StringStringEntryProtoSchema, { key: 'location', value: `../${forged}` })];
    m.graph!.initializer[0]!.dataLocation = TensorProto_DataLocation.EXTERNAL;
    const evil = path.join(dir, 'evil.onnx');
    saveModelFile(m, evil);
    const err = onnxq(['inspect', evil]);
    expectCleanFailure(err, /outside the model's folder/);
    expect(err.stderr).not.toContain(ESC);
    expect(err.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('what the output records', () => {
  it('the same model whatever the output path and thread count; its metadata holds the options, never a path', () => {
    const dir = tempDir('onnxq-hostile-');
    const input = path.join(dir, 'in.onnx');
    saveModelFile(matmulModel(), input);
    const calib = path.join(dir, 'calib.npy');
    writeNpy(calib, { dtype: 'float32', dims: [8, 1, 64], data: randomFloats(8 * 64, 6) });
    for (const mode of [...MODES, ['--calib', calib, '--method', 'entropy'], ['--calib', calib]]) {
      const outs = [path.join(dir, 'a.onnx'), path.join(fs.mkdtempSync(path.join(dir, 'elsewhere-')), 'b.onnx')];
      for (const [i, out] of outs.entries()) {
        const r = onnxq(['quantize', input, '-o', out, ...mode, '--threads', String(i + 1)]);
        expect(r.code, r.stderr).toBe(0);
      }
      const [a, b] = outs.map((f) => fs.readFileSync(f));
      expect(Buffer.compare(a!, b!), mode.join(' ')).toBe(0);
      const meta = Object.fromEntries(loadModelFile(outs[0]!).model.metadataProps.map((p) => [p.key, p.value]));
      const options = JSON.parse(meta['onnxq.options']!) as Record<string, unknown>;
      expect(options.mode).toBe(mode[0] === '--mode' ? mode[1] : 'static');
      expect(meta['onnxq.options']).not.toContain(dir);
      expect(meta['onnxq.options']).not.toMatch(/threads|onnx"/);
    }
  });
});
