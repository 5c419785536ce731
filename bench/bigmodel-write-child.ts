/**
 * Writes the big model of bench/bigmodel.ts in its own process, so that the bench process never
 * holds its gigabytes:
 *   node dist/bench/bigmodel-write-child.js <model.onnx> '<EncoderShape as JSON>'
 * The weights are generated once, straight into the arrays the tensors keep (bench/encoder.ts), and
 * saved with external data (protobuf cannot hold more than 2 GiB): the data file is written from
 * those same arrays, so the generator needs the weights' size in memory once, not twice. Prints one
 * JSON line: the files' sizes, the node count, the time and this process's peak resident set.
 */
import fs from 'node:fs';
import { saveModelFile } from '../src/index.js';
import { encoderModel, type EncoderShape } from './encoder.js';
import { procStatus } from './proc-status.js';

export interface BigModelFiles {
  modelBytes: number;
  dataBytes: number;
  nodes: number;
  wallMs: number;
  peakRssBytes: number;
}

function main(): void {
  const [file, json] = process.argv.slice(2) as [string, string];
  const start = performance.now();
  const model = encoderModel(JSON.parse(json) as EncoderShape);
  const saved = saveModelFile(model, file, { externalData: true });
  const result: BigModelFiles = {
    modelBytes: fs.statSync(saved.model).size,
    dataBytes: saved.data ? fs.statSync(saved.data).size : 0,
    nodes: model.graph!.node.length,
    wallMs: performance.now() - start,
    peakRssBytes: procStatus('VmHWM'),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main();
