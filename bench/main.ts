/**
 * `npm run bench`: onnxq's speed, memory and accuracy against baselines measured in the same run,
 * on PaddleOCR's det/rec/cls models (from the pinned npm package) with data rendered by
 * demo/paddle-ocr.ts, and on ../shared/models where that folder exists. Prints a table per section
 * and writes every number to bench-results.json in the current directory. Nothing here asserts:
 * the aims from the issue are printed next to the measurements.
 *
 *   npm run bench -- [--only speed,int8,memory,shared,modes,scale,bigmodel,analysis,train,adaround,qat] [--adaround-iters 100] [--qat-stride 5] [--threads N] [--samples 128] [--memory-samples 128,1024]
 *                    [--scale-layers 25,50,100,200] [--scale-shape hidden=64,seq=16,ffn=256,heads=4,activation=relu] [--scale-timeout 240] [--bigmodel-no-validate] [--bigmodel-timeout 1800]
 *
 * --threads: onnxruntime intra-op threads for calibration and its float baseline, the memory runs and
 * the accuracy runs (default 1: steadier on a small shared machine; 0 = onnxruntime's default).
 * Section 3's latency is always measured at one thread and at onnxruntime's default.
 * Section 3 scores the int8 models section 1 made, so `--only int8` runs section 1 too.
 * Section 5 ends with the peak memory of the modes without data on a generated 256 MB model.
 * Section 6 (scale) times the CLI in every mode on generated encoders of --scale-layers layers,
 * each run killed after --scale-timeout seconds.
 * Section 7 (bigmodel) measures each mode's peak memory on a generated 3 GiB model (external data),
 * validated as the CLI does unless --bigmodel-no-validate; each run killed after --bigmodel-timeout seconds.
 * Section 8 (analysis) times onnxq's analysis of the int8 PaddleOCR det and rec models against float
 * inference, and the mixed-precision search to an output-SQNR budget with the task scores it reaches.
 * Section 9 (train) times one training step of src/train's engine against one float forward pass.
 * Section 10 (adaround, only when named in --only) sets AdaRound by layer and by block against round
 * to nearest on PaddleOCR cls at 4-bit weights, --adaround-iters steps per unit (default 100).
 * Section 11 (qat, only when named in --only): the torch-trained Fashion-MNIST CNNs of bench/models/fashion
 * at w4a8 and w4a4 — round to nearest, AdaRound, one epoch of QAT on every --qat-stride-th training image
 * (default 5; 1 = all 60,000) — against the test set, beside PyTorch's numbers (bench/torch/results.json).
 */
import { calibrationSpeed, printSpeed, type SpeedResult } from './calibration-speed.js';
import { byMethod, ocrQuality, ocrSpeedSizeFusion, printQuality, printSpeedSizeFusion, type QualityRow, type SpeedSizeFusion } from './int8-vs-float.js';
import { modeComparison, printModes } from './modes.js';
import { modeMemory, printModeMemory } from './mode-memory.js';
import { memoryRuns, printMemory, type MemoryRun } from './memory.js';
import { OCR_KINDS } from './ocr-data.js';
import { codeState, environment, errorLine, heading, writeResults } from './report.js';
import { bigModelRuns, printBigModel } from './bigmodel.js';
import { parseScaleShape, printScale, SCALE_SHAPE, scaleRuns, type ScaleShape } from './scale.js';
import { printSharedQuality, sharedModels } from './shared-models.js';
import { analysisRuns, printAnalysis, printEasyQuant } from './analysis.js';
import { printTrainingStep, trainingStep } from './train.js';
import { adaRoundRun, printAdaRound } from './adaround.js';
import { printQat, qatRuns } from './qat.js';
import { VERSION } from '../src/index.js';

const SECTIONS = ['speed', 'int8', 'memory', 'shared', 'modes', 'scale', 'bigmodel', 'analysis', 'train', 'adaround', 'qat'] as const;
type Section = (typeof SECTIONS)[number];
/** Sections run without --only: all but AdaRound's, which trains every layer of a model twice (tens of minutes). */
const DEFAULT_SECTIONS = SECTIONS.filter((s) => s !== 'adaround' && s !== 'qat');
const RESULTS_FILE = 'bench-results.json';
/** MLP blocks of the generated model whose offline-mode memory section 5 measures: 8 blocks = 256 MB. */
const MEMORY_MLP_BLOCKS = 8;

interface Args {
  only: Set<Section>;
  threads: number | undefined;
  samples: number;
  memorySamples: number[];
  scaleLayers: number[];
  scaleShape: ScaleShape;
  scaleTimeoutS: number;
  bigModelValidate: boolean;
  bigModelTimeoutS: number;
  adaroundIters: number;
  qatStride: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i < 0) return undefined;
    return argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1];
  };
  const only = new Set((get('--only')?.split(',') ?? [...DEFAULT_SECTIONS]) as Section[]);
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section '${s}' (sections: ${SECTIONS.join(', ')})`);
  const threadsArg = Number(get('--threads') ?? 1);
  return {
    only,
    threads: threadsArg > 0 ? threadsArg : undefined,
    samples: Number(get('--samples') ?? 128),
    memorySamples: (get('--memory-samples') ?? '128,1024').split(',').map(Number),
    scaleLayers: (get('--scale-layers') ?? '25,50,100,200').split(',').map(Number),
    scaleShape: get('--scale-shape') ? parseScaleShape(get('--scale-shape')!) : SCALE_SHAPE,
    scaleTimeoutS: Number(get('--scale-timeout') ?? 240),
    bigModelValidate: !argv.includes('--bigmodel-no-validate'),
    bigModelTimeoutS: Number(get('--bigmodel-timeout') ?? 1800),
    adaroundIters: Number(get('--adaround-iters') ?? 100),
    qatStride: Number(get('--qat-stride') ?? 5),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const start = performance.now();
  const elapsed = () => `${((performance.now() - start) / 1000).toFixed(0)} s`;
  const log = (line: string) => process.stderr.write(`[${elapsed()}] ${line.trim()}\n`);
  const results: Record<string, unknown> = {
    onnxq: VERSION,
    startedAt: new Date().toISOString(),
    environment: environment(),
    code: codeState(),
    options: { ...args, only: [...args.only], threads: args.threads ?? "onnxruntime's default" },
  };
  const errors: string[] = [];
  results.errors = errors;
  const save = () => writeResults(RESULTS_FILE, results);
  const threadText = args.threads ? `${args.threads} intra-op thread${args.threads > 1 ? 's' : ''}` : "onnxruntime's default threads";
  console.log(`onnxq ${VERSION} bench — ${(results.environment as { cpu: string }).cpu}, ${(results.environment as { cores: number }).cores} cores, node ${process.version}, onnxruntime-node 1.30.0; ${threadText} unless a column says otherwise`);
  const code = results.code as ReturnType<typeof codeState>;
  if (code.commit) console.log(`code: commit ${code.commit}${code.changed?.length ? ` + uncommitted changes in ${code.changed.join(', ')}` : ''}`);
  console.log(`load average at start: ${(results.environment as { loadAverage: number[] }).loadAverage.join(', ')} (other work on this machine skews every time below)`);

  // 1. Calibration speed (its int8 models feed section 3).
  const speed: SpeedResult[] = [];
  if (args.only.has('speed') || args.only.has('int8')) {
    heading('1. Calibration speed');
    for (const kind of OCR_KINDS) {
      log(`calibration speed: ${kind}, ${args.samples} samples (minmax, then entropy; float baseline before, between, after)`);
      try {
        speed.push(await calibrationSpeed(kind, args.samples, args.threads));
      } catch (e) {
        console.log(`  ${kind}: failed — ${errorLine(e)}`);
        errors.push(`speed ${kind}: ${errorLine(e)}`);
      }
    }
    printSpeed(speed);
    results.calibrationSpeed = speed.map(({ quantized: _q, ...rest }) => rest);
    save();
  }

  // 2. Peak memory at two sample counts, one child process per run.
  if (args.only.has('memory')) {
    heading('2. Peak memory of calibration');
    const counts = args.memorySamples;
    const runs: MemoryRun[] = await memoryRuns(
      [
        { model: 'det', method: 'entropy', samples: counts },
        { model: 'rec', method: 'entropy', samples: counts },
        { model: 'det', method: 'render-only', samples: counts },
      ],
      args.threads,
      log,
    );
    printMemory(runs);
    results.memory = runs;
    save();
  }

  // 3. int8 vs float on the PaddleOCR models.
  if (args.only.has('int8')) {
    heading('3. int8 model vs float model (PaddleOCR)');
    const rows: SpeedSizeFusion[] = [];
    const quality: QualityRow[] = [];
    for (const s of speed) {
      try {
        log(`int8 vs float: ${s.model} latency, size, fused ops (int8 model of minmax ranges)`);
        rows.push(await ocrSpeedSizeFusion(s.model, s.quantized, 'minmax'));
        log(`int8 vs float: ${s.model} accuracy (float and ${Object.keys(s.quantized).join(', ')})`);
        quality.push(...(await ocrQuality(s.model, byMethod(s.quantized), args.threads)));
      } catch (e) {
        console.log(`  ${s.model}: failed — ${errorLine(e)}`);
        errors.push(`int8 ${s.model}: ${errorLine(e)}`);
      }
    }
    printSpeedSizeFusion('PaddleOCR int8 vs float', rows);
    printQuality(quality);
    results.int8VsFloat = { speedSizeFusion: rows, quality };
    save();
  }

  speed.length = 0;

  // 4. The shared pretrained models.
  if (args.only.has('shared')) {
    heading('4. Shared pretrained models (../shared/models)');
    log('shared models');
    const shared = await sharedModels(args.threads, log);
    if (!shared.present) console.log(`  ${shared.dir} does not exist (it is not part of the repository): section skipped.`);
    else {
      printSpeedSizeFusion('Shared models int8 vs float', shared.results.flatMap((r) => (r.speed ? [r.speed] : [])));
      printSharedQuality(shared.results);
    }
    results.sharedModels = shared;
    save();
  }

  // 5. Every mode (static, dynamic, weight-only, fp16) side by side.
  if (args.only.has('modes')) {
    heading('5. Every quantization mode vs float (size, latency, SQNR, task score)');
    const rows = await modeComparison(args.threads, log);
    printModes(rows);
    results.modes = rows;
    save();
    const memory = await modeMemory(MEMORY_MLP_BLOCKS, log);
    printModeMemory(memory);
    results.modeMemory = memory;
    save();
  }

  // 6. Quantization time as the graph grows, the CLI against onnxruntime's own load-and-run.
  if (args.only.has('scale')) {
    heading('6. Quantization time vs graph size (generated encoders, the CLI in every mode)');
    const scale = await scaleRuns(args.scaleLayers, args.scaleTimeoutS * 1000, log, args.scaleShape);
    printScale(scale);
    results.scale = scale;
    save();
  }

  // 7. Peak memory of every mode on a model past protobuf's 2 GiB.
  if (args.only.has('bigmodel')) {
    heading('7. Peak memory of every mode on a generated 3 GB model (external data, the CLI in its own process)');
    const big = await bigModelRuns({ validate: args.bigModelValidate, threads: args.threads, timeoutMs: args.bigModelTimeoutS * 1000 }, log);
    printBigModel(big);
    results.bigModel = big;
    save();
  }

  // 8. Where the int8 models lose accuracy, and what mixed precision buys back.
  if (args.only.has('analysis')) {
    heading('8. Analysis and mixed precision (PaddleOCR rec and det)');
    try {
      const runs = await analysisRuns(['rec', 'det'], 16, Math.min(args.samples, 128), args.threads, log);
      printAnalysis(runs);
      printEasyQuant(runs);
      printQuality(runs.flatMap((r) => r.quality));
      results.analysis = runs;
    } catch (e) {
      console.log(`  failed — ${errorLine(e)}`);
      errors.push(`analysis: ${errorLine(e)}`);
    }
    save();
  }

  // 9. What training on the ONNX file costs.
  if (args.only.has('train')) {
    heading('9. Training on onnxruntime: one step against one forward pass');
    try {
      log('train: PaddleOCR cls, batch 8; the Fashion-MNIST CNNs, batch 32');
      const rows = [await trainingStep('cls', 8, args.threads), await trainingStep('mbv2', 32, args.threads), await trainingStep('resnet', 32, args.threads)];
      printTrainingStep(rows);
      results.train = rows;
    } catch (e) {
      console.log(`  failed — ${errorLine(e)}`);
      errors.push(`train: ${errorLine(e)}`);
    }
    save();
  }

  // 10. AdaRound against round to nearest at 4-bit weights.
  if (args.only.has('adaround')) {
    heading('10. AdaRound: learned weight rounding at 4 bits (PaddleOCR cls)');
    try {
      const run = await adaRoundRun(Math.min(args.samples, 128), args.adaroundIters, args.threads, log);
      printAdaRound(run);
      printQuality(run.quality);
      results.adaround = run;
    } catch (e) {
      console.log(`  failed — ${errorLine(e)}`);
      errors.push(`adaround: ${errorLine(e)}`);
    }
    save();
  }

  // 11. Below 8 bits on torch-trained CNNs, with PyTorch's numbers beside.
  if (args.only.has('qat')) {
    heading('11. Below 8 bits on torch-trained CNNs: round to nearest, AdaRound, QAT (Fashion-MNIST)');
    try {
      const rows = await qatRuns(args.threads, args.qatStride, log);
      printQat(rows, args.qatStride);
      results.qat = rows;
    } catch (e) {
      console.log(`  failed — ${errorLine(e)}`);
      errors.push(`qat: ${errorLine(e)}`);
    }
    save();
  }

  results.totalSeconds = Number(((performance.now() - start) / 1000).toFixed(1));
  results.loadAverageAtEnd = environment().loadAverage;
  save();
  console.log(`\nbench took ${elapsed()}; load average at end ${(results.loadAverageAtEnd as number[]).join(', ')}; results in ${RESULTS_FILE}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
