/**
 * The design's rule for the core: it runs unchanged in a browser. src/core.ts is bundled here as an
 * app would bundle it (esbuild, platform 'browser'), with every Node built-in (node:* or bare), every
 * onnxruntime package (the core is given one with useRuntime) and the native addons refused: the build
 * fails, naming the module that imports one. A bad entry checks that the refusal works.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toBinary } from '@bufbuild/protobuf';
import * as esbuild from 'esbuild';
import { ModelProtoSchema } from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, randomWeight } from './helpers/build.js';
import { tempDir } from './helpers/temp.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

// Bare names too ('fs', 'fs/promises'): a browser polyfill of the same name ('buffer', 'events')
// would be refused as well, and would have to be allowed here on purpose.
const NODE_BUILTINS = new Set(builtinModules);
const NODE_ONLY = /^(onnxruntime-node|onnxruntime-web|sharp)(\/|$)|^@napi-rs\//;

const refuseNode: esbuild.Plugin = {
  name: 'refuse-node',
  setup(build) {
    build.onResolve({ filter: /.*/ }, ({ path: spec, importer }) => {
      const what = spec.startsWith('node:') || NODE_BUILTINS.has(spec) ? 'a Node built-in' : NODE_ONLY.test(spec) ? 'a Node-only or onnxruntime package' : undefined;
      if (!what) return undefined;
      const from = path.isAbsolute(importer) ? path.relative(ROOT, importer) : importer;
      return { errors: [{ text: `${from} imports ${spec}, ${what}: the core must run in a browser` }] };
    });
  },
};

interface Bundle {
  errors: string[];
  code: string;
  /** Source files in the bundle, relative to the repository. */
  inputs: string[];
  exports: string[];
}

async function bundle(entry: Pick<esbuild.BuildOptions, 'entryPoints' | 'stdin'>): Promise<Bundle> {
  try {
    const result = await esbuild.build({
      ...entry,
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [refuseNode],
      // A module loaded at run time by a name esbuild cannot follow (import(name), require(name)) is
      // left in the code; with import() marked unsupported, both become calls of its __require shim,
      // which throws in a browser, so that one check finds them.
      supported: { 'dynamic-import': false },
    });
    const [output] = Object.values(result.metafile.outputs);
    return { errors: result.errors.map((e) => e.text), code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs), exports: output!.exports };
  } catch (e) {
    if (!(e instanceof Error && 'errors' in e)) throw e;
    return { errors: (e as esbuild.BuildFailure).errors.map((m) => m.text), code: '', inputs: [], exports: [] };
  }
}

/** The lines of the bundle that match, shortened: a failure shows them, not the whole bundle. */
function linesMatching(code: string, re: RegExp): string[] {
  return code.split('\n').filter((line) => re.test(line)).map((line) => line.trim().slice(0, 160));
}

describe('onnxq/core bundled for the browser', () => {
  let core: Bundle;
  beforeAll(async () => {
    core = await bundle({ entryPoints: ['src/core.ts'] });
  });
  afterAll(() => esbuild.stop());

  it('bundles with no Node built-in, native addon or onnxruntime package', () => {
    expect(core.errors).toEqual([]);
    // The whole core was walked, not a stub of it.
    expect(core.inputs.filter((f) => f.startsWith('src/')).length).toBeGreaterThan(50);
    expect(core.exports).toEqual(expect.arrayContaining(['quantize', 'quantizeOffline', 'useRuntime', 'compareModels']));
    // What the plugin cannot see: a module loaded at run time by a name in a string, as getRuntime
    // once loaded onnxruntime-node; and not even a message names the Node binary.
    expect(linesMatching(core.code, /\b__require\b/)).toEqual([]);
    expect(linesMatching(core.code, /onnxruntime-node|["'`]node:/)).toEqual([]);
  });

  it('loads, and without a runtime says how to give one', async () => {
    const file = path.join(tempDir('onnxq-bundle-'), 'core.mjs');
    fs.writeFileSync(file, core.code);
    const loaded = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as typeof import('../src/core.js');
    const model = buildModel({
      inputs: [{ name: 'x', dims: [1, 4] }],
      outputs: [{ name: 'y', dims: [1, 3] }],
      nodes: [{ opType: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [randomWeight('w', [4, 3], 1)],
    });
    // The bundle's own protobuf decodes it; the test's setup file gave onnxruntime-node to src/, not to the bundle.
    await expect(loaded.quantizeOffline(loaded.decodeModel(toBinary(ModelProtoSchema, model), 'the test model'), { mode: 'dynamic' })).rejects.toMatchObject({
      name: 'OnnxqError',
      code: 'RUNTIME',
      message: expect.stringContaining("useRuntime(await import('onnxruntime-web'))"),
    });
  });

  it('a Node import anywhere fails the build, naming the module and its importer', async () => {
    const bad = await bundle({
      stdin: {
        contents: [
          "import { readFileSync } from 'node:fs';",
          "import path from 'path';",
          "export { InferenceSession } from 'onnxruntime-node';",
          "export * from './src/core.js';",
          'export const read = (file: string) => readFileSync(path.resolve(file));',
        ].join('\n'),
        loader: 'ts',
        resolveDir: ROOT,
        sourcefile: 'bad-entry.ts',
      },
    });
    expect(bad.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bad-entry\.ts imports node:fs, a Node built-in/),
        expect.stringMatching(/^bad-entry\.ts imports path, a Node built-in/),
        expect.stringMatching(/^bad-entry\.ts imports onnxruntime-node, a Node-only/),
      ]),
    );
    expect(bad.errors).toHaveLength(3);
  });
});
