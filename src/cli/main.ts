#!/usr/bin/env node
/** The onnxq command line: thin commands over the library. Errors print as one paragraph, no stack. */
import { Command, Option } from 'commander';
import { METHOD_NAMES } from '../refine/methods.js';
import { RANGE_METHOD_NAMES } from '../calibrate/observer.js';
import { ADAROUND_DEFAULTS } from '../refine/adaround.js';
import { printable } from './format.js';
import { OnnxqError } from '../errors.js';
import { QUANT_TYPES } from '../quant/spec.js';
import { VERSION } from '../version.js';
import { DEFAULT_TRT_VERSION } from '../export/trt-cache.js';
import { runInspect } from './inspect.js';
import { DEFAULT_STUDIO_PORT, runStudio } from './studio.js';
import { collectList, collectShape, collectValue, oneOf, parseInteger, parseNumber, parseNumbers, parseSize } from './options.js';
import { runQuantize } from './quantize.js';
import { runQat, type QatCliOptions } from './qat.js';
import { runAnalyze, type AnalyzeCliOptions } from './analyze.js';
import { DEFAULT_ANALYSIS_SAMPLES, DEFAULT_LAYER_SAMPLES } from '../analyze/analyze.js';
import { removeAbandoned } from '../node/abandon.js';
import { withRuntimeOption } from './runtime.js';

/** What is quantized, and onnxruntime's threads: options of quantize and qat. */
function withSelection(command: Command): Command {
  return command
    .option('--exclude <names>', 'node names or op types to keep in float (comma-separated, repeatable)', collectList)
    .option('--op-types <types>', 'quantize only these op types (comma-separated)', collectList)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', parseInteger('--threads'));
}

/** How the data given with --calib is read: input shapes, and the preprocessing of image folders. */
function withDataOptions(command: Command): Command {
  return command
    .option('--input-shape <name=dims>', 'fix an input\'s symbolic dimensions, e.g. x=1,3,48,320 (repeatable)', collectShape)
    .option('--size <HxW>', 'image size for image folders, e.g. 48x320 (default: the input\'s static size)', parseSize)
    .addOption(new Option('--resize <mode>', 'stretch, or fit-pad: keep the aspect ratio, pad right and bottom').choices(['stretch', 'fit-pad']))
    .addOption(new Option('--layout <layout>', 'image tensor layout (default from the input shape)').choices(['nchw', 'nhwc']))
    .addOption(new Option('--channels <order>', 'channel order (default rgb; gray for 1-channel inputs)').choices(['rgb', 'bgr', 'gray']))
    .option('--mean <v>', 'subtracted after scaling: one value or one per channel', parseNumbers('--mean'))
    .option('--std <v>', 'divided after subtracting the mean: one value or one per channel', parseNumbers('--std'))
    .option('--scale <s>', 'pixel multiplier applied first (default 1/255)', parseNumber('--scale'));
}

const program = new Command('onnxq')
  .description('Quantize ONNX models: calibrate, quantize to int8 QDQ, and measure what it cost.')
  .version(VERSION)
  // A usage error is one line and a pointer to the help, not the whole help.
  .showHelpAfterError('(add --help for the options)');

program
  .command('inspect')
  .description('show inputs, outputs, opsets, op types and parameter bytes of a model')
  .argument('<model>', 'an .onnx file')
  .option('--json', 'print a machine-readable summary')
  .action((model: string, opts: { json?: boolean }) => runInspect(model, opts));

program
  .command('studio')
  .description('serve the studio: a page that quantizes models in your browser, on this machine (127.0.0.1)')
  .option('--port <n>', `port to listen on (default ${DEFAULT_STUDIO_PORT}; 0 for any free one)`, parseInteger('--port', 0))
  .action((opts: { port?: number }) => runStudio(opts));

withRuntimeOption(withDataOptions(
  program
    .command('analyze')
    .description('find where a quantized model loses accuracy: every quantized tensor against the float model, layers ranked by sensitivity, histograms and weight ranges')
    .argument('<float>', 'the float .onnx model')
    .argument('<quantized>', 'a QDQ model made from it (by onnxq or another tool)')
    .requiredOption('--calib <path>', 'samples to compare on: a folder of images, a .npy, a .npz or a folder of .npy files'),
))
  .option('--samples <n>', `samples to compare on (default ${DEFAULT_ANALYSIS_SAMPLES})`, parseInteger('--samples'))
  .option('--layer-samples <n>', `samples for the layer-wise ranking, run once per layer (default ${DEFAULT_LAYER_SAMPLES})`, parseInteger('--layer-samples'))
  .option('--no-layerwise', 'skip the layer-wise ranking')
  .option('--no-histograms', 'skip histograms and method ranges')
  .option('--top <n>', 'rows of the worst-first table (default 15)', parseInteger('--top'))
  .option('--report <file>', 'write the report as one self-contained HTML file')
  .option('--json [file]', 'print the report as JSON (or write it to a file)')
  .option('--seed <n>', 'seed for sample selection (default 0)', parseInteger('--seed', 0))
  .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', parseInteger('--threads'))
  .action((float: string, quantized: string, opts: AnalyzeCliOptions) => runAnalyze(float, quantized, opts));

withRuntimeOption(withSelection(withDataOptions(program
  .command('quantize')
  .description('quantize a model: static (calibrated int8 QDQ), dynamic, weight-only int4/int8 or float16; then validate it')
  .argument('<model>', 'the float .onnx model (never modified)')
  .requiredOption('-o, --output <file>', 'where to write the quantized model')
  .addOption(new Option('--mode <mode>', 'static needs --calib; dynamic, weight-only and fp16 need no calibration').choices(['static', 'dynamic', 'weight-only', 'fp16']).default('static'))
  .option('--calib <path>', 'calibration data (static; optional otherwise, to validate on): a folder of images, a .npy (first axis = samples), a .npz or a folder of .npy files named after the inputs')
  .addOption(new Option('--method <name>', 'activation range method, eq (EasyQuant\'s per-layer scale search from entropy ranges), adaround (learned weight rounding on minmax ranges), or all: every method but adaround, the best on held-out samples is written').choices([...METHOD_NAMES, 'all']).default('minmax'))
  .addOption(new Option('--reconstruct <unit>', 'for --method adaround: reconstruct each layer\'s output (default) or each block\'s (BRECQ: the nodes between single-tensor cuts, e.g. a residual block)').choices(['layer', 'block']))
  .option('--adaround-iters <n>', `for --method adaround: Adam steps per layer or block (default ${ADAROUND_DEFAULTS.iterations}; the paper takes 10000)`, parseInteger('--adaround-iters'))
  .option('--adaround-samples <n>', `for --method adaround: calibration samples to reconstruct on (default ${ADAROUND_DEFAULTS.samples})`, parseInteger('--adaround-samples'))
  .option('--eq-steps <n>', 'for --method eq: candidate scales per search over [0.5·S, 2·S) (default 100)', parseInteger('--eq-steps'))
  .option('--eq-samples <n>', 'for --method eq: calibration samples the search runs on (default 50)', parseInteger('--eq-samples'))
  .option('--percentile <p>', 'percentile for --method percentile (default 99.999)', parseNumber('--percentile'))
  .addOption(new Option('--weight-method <name>', 'static: minmax (max |w| per channel) or admm (MNN); weight-only: rtn (round to nearest) or hqq').choices(['minmax', 'admm', 'rtn', 'hqq']))
  .addOption(new Option('--target <name>', 'who runs the result').choices(['ort-qdq', 'tensorrt']).default('ort-qdq'))
  .option('--activation-type <type>', `activation type (${QUANT_TYPES.filter((t) => !t.endsWith('4')).join(', ')}); default uint8, int8 for tensorrt`, oneOf('--activation-type', QUANT_TYPES))
  .option('--weight-type <type>', 'weight type (static: default int8; dynamic: int8 or uint8, default uint8 when the model has a Conv, else int8)', oneOf('--weight-type', QUANT_TYPES))
  .option('--weight-bits <n>', 'static: weight bits, 2–8 (default 8); ≤ 4 are stored as int4 (opset 21), fewer than the type stores keep to the narrower range', parseInteger('--weight-bits'))
  .option('--activation-bits <n>', 'static: activation bits, 4–16 (default 8); 4–8 held in uint8/int8, 16 as uint16/int16', parseInteger('--activation-bits'))
  .option('--bias-correction', 'static: measure on calibration samples how weight rounding shifts each Conv/Gemm output channel\'s mean, and correct the bias')
  .option('--equalize', 'static: cross-layer equalization of Conv/Gemm pairs joined by Relu-like ops before calibrating (most useful with --no-per-channel)')
  .option('--symmetric', 'static: symmetric activations (zero point in the middle; weights are symmetric unless --weight-asymmetric); weight-only: symmetric blocks (default asymmetric)')
  .option('--weight-asymmetric', 'asymmetric weights')
  .option('--per-channel', 'per-channel weights (the default)')
  .option('--no-per-channel', 'one scale per weight tensor (loses accuracy on most models)')
  .option('--reduce-range', '7-bit weights (−64…64), for x86 CPUs without VNNI where u8×s8 kernels can saturate')
  .option('--calib-samples <n>', 'calibration samples to use (default 512)', parseInteger('--calib-samples'))
  .option('--seed <n>', 'seed for sample selection (default 0)', parseInteger('--seed', 0))
  .option('--batch-size <n>', 'samples per calibration run when the batch dimension is free (default 1)', parseInteger('--batch-size'))
  )))
  .option('--min-sqnr <dB>', 'static mixed precision: take tensors out of int8, most useful first, until every output\'s SQNR on held-out samples reaches this', parseNumber('--min-sqnr'))
  .option('--max-sqnr-drop <dB>', 'static mixed precision: every output\'s SQNR at most this far below the same model with 16-bit activations', parseNumber('--max-sqnr-drop'))
  .option('--min-top1 <share>', 'static mixed precision: top-1 agreement with float on class outputs, e.g. 0.99', parseNumber('--min-top1'))
  .option('--report <file>', 'static: write the analysis of the model made (graph-wise and layer-wise error, histograms) as one HTML file')
  .option('--plan <file>', 'use this plan (from --save-plan, perhaps edited) instead of building one')
  .option('--save-plan <file>', 'write the per-tensor plan as JSON')
  .option('--save-ranges <file>', 'write every tensor\'s range, scale and zero point as JSON')
  .option('--calib-cache <file>', 'write a TensorRT calibration cache')
  .option('--trt-version <n>', 'version in the cache header (8601 = TensorRT 8.6.1; 100300 = 10.3.0)', DEFAULT_TRT_VERSION)
  .option('--bits <n>', 'weight-only: 4 (default) or 8', parseInteger('--bits'))
  .option('--block-size <n>', 'weight-only: values per scale along the reduction axis, a power of two in 16..256 (default 32)', parseInteger('--block-size'))
  .addOption(new Option('--format <form>', 'weight-only output: com.microsoft MatMulNBits (default) or blocked DequantizeLinear (opset 21)').choices(['matmulnbits', 'qdq']))
  .option('--accuracy-level <n>', 'weight-only MatMulNBits: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 compute', parseInteger('--accuracy-level', 0))
  .option('--quantize-embeddings', 'weight-only: also quantize Gather on constant tables')
  .option('--keep-io-types', 'fp16: keep float32 graph inputs and outputs (the default)')
  .option('--no-keep-io-types', 'fp16: make graph inputs and outputs float16 too')
  .option('--input-value <name=v>', 'a value for an integer input of synthetic validation samples, e.g. sr=16000 (repeatable)', collectValue)
  .option('--force', 'write the model even when nothing could be quantized')
  .option('--external-data', 'store weights in a .data file next to the model (automatic past 2 GiB)')
  .option('--no-validate', 'skip the comparison with the float model')
  .option('--json', 'print a machine-readable summary')
  .action((model: string, opts, command: Command) => {
    const given = command.options.map((o) => o.attributeName()).filter((k) => command.getOptionValueSource(k) === 'cli');
    return runQuantize(model, opts, given);
  });

/** Plan options that static quantization and quantization-aware training share. */
function withPlanOptions(command: Command): Command {
  return command
    .addOption(new Option('--target <name>', 'who runs the result').choices(['ort-qdq', 'tensorrt']).default('ort-qdq'))
    .option('--weight-bits <n>', 'weight bits, 2–8 (default 8); ≤ 4 are stored as int4 (opset 21)', parseInteger('--weight-bits'))
    .option('--activation-bits <n>', 'activation bits, 4–16 (default 8); 4–8 held in uint8/int8, 16 as uint16/int16', parseInteger('--activation-bits'))
    .option('--activation-type <type>', 'activation type (default uint8, int8 for tensorrt)', oneOf('--activation-type', QUANT_TYPES))
    .option('--weight-type <type>', 'weight type (default int8)', oneOf('--weight-type', QUANT_TYPES))
    .option('--symmetric', 'symmetric activations')
    .option('--weight-asymmetric', 'asymmetric weights')
    .option('--no-per-channel', 'one scale per weight tensor')
    .option('--calib-samples <n>', 'samples that initialise the ranges (default 512)', parseInteger('--calib-samples'))
    .option('--seed <n>', 'seed for sample selection and batch order (default 0)', parseInteger('--seed', 0));
}

withRuntimeOption(withSelection(withPlanOptions(withDataOptions(program
  .command('qat')
  .description('quantization-aware training: calibrate, fine-tune weights and scales with fake quantization on onnxruntime, export QDQ with the trained parameters')
  .argument('<model>', 'the float .onnx model (never modified)')
  .requiredOption('-o, --output <file>', 'where to write the quantized model')
  .requiredOption('--data <path>', 'training samples (they also initialise the ranges): a folder of images, a .npy (first axis = samples), a .npz or a folder of .npy files')))))
  .option('--labels <file>', 'a .npy of class indices, one per sample: cross-entropy; without it, distillation from the float model\'s outputs')
  .option('--epochs <n>', 'passes over the training samples', parseInteger('--epochs', 0), 1)
  .option('--lr <rate>', 'peak learning rate, cosine decay after 5 % warm-up (default 1e-3 with adam, 1e-2 with sgd)', parseNumber('--lr'))
  .option('--batch-size <n>', 'samples per step (default 32; 1 when the model fixes its batch dimension)', parseInteger('--batch-size'))
  .addOption(new Option('--optimizer <name>', 'adam, or sgd with momentum 0.9').choices(['adam', 'sgd']).default('adam'))
  .addOption(new Option('--loss <name>', 'distillation loss without --labels: mse on the first output, or kl for classifiers (default mse)').choices(['mse', 'kl']))
  .option('--no-learn-scales', 'keep the calibrated scales; train weights and biases only')
  .addOption(new Option('--method <name>', 'range method that initialises the scales').choices(RANGE_METHOD_NAMES).default('minmax'))
  .option('--percentile <p>', 'percentile for --method percentile (default 99.999)', parseNumber('--percentile'))
  .option('--save-plan <file>', 'write the trained plan (every scale and zero point) as JSON')
  .option('--save-ranges <file>', 'write every tensor\'s range, scale and zero point as JSON')
  .option('--external-data', 'store weights in a .data file next to the model')
  .option('--no-validate', 'skip the comparison with the float model')
  .option('--json', 'print a machine-readable summary')
  .action((model: string, opts: QatCliOptions) => runQat(model, opts));

async function main(): Promise<void> {
  // Interrupted: remove what a failed run would remove (models staged for onnxruntime), then exit as
  // the shell expects of a signal (128 + its number). Outputs are written synchronously and never half-placed.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const)
    process.once(signal, () => {
      removeAbandoned();
      process.exit(code);
    });
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof OnnxqError) {
      process.stderr.write(`onnxq: ${printable(e.message)}\n`);
      process.exitCode = 1;
    } else {
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`onnxq: unexpected error: ${printable(msg)}\n  This is a bug in onnxq; please report it with the command you ran. Set ONNXQ_DEBUG=1 to see where it happened.\n`);
      if (process.env.ONNXQ_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
      process.exitCode = 2;
    }
  }
}

await main();
