/** `onnxq inspect model.onnx`: what the model holds, for a person or (with --json) a program. */
import { inspectModel } from '../analyze/inspect.js';
import { formatShape } from '../ir/types.js';
import { checkModel } from '../ir/check.js';
import { loadModelFile } from '../node/files.js';
import { formatBytes, printable, printableJson } from './format.js';

export function runInspect(file: string, options: { json?: boolean }): void {
  const { model } = loadModelFile(file);
  checkModel(model, file);
  const r = inspectModel(model);
  if (options.json) {
    process.stdout.write(printableJson(r));
    return;
  }
  const lines = [
    `${file}`,
    `  IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}${r.producer ? `, produced by ${r.producer}` : ''}`,
    `  inputs:`,
    ...r.inputs.map((v) => `    ${v.name}  ${v.dtype} ${formatShape(v.shape ?? undefined)}`),
    `  outputs:`,
    ...r.outputs.map((v) => `    ${v.name}  ${v.dtype} ${formatShape(v.shape ?? undefined)}`),
    `  ${r.nodes} nodes${r.subgraphs ? ` (in the main graph and ${r.subgraphs} subgraph${r.subgraphs > 1 ? 's' : ''})` : ''}:`,
    `    ${Object.entries(r.ops).map(([op, n]) => `${op} ${n}`).join(', ')}`,
    `  parameters: ${formatBytes(r.parameters.bytes)} in ${r.parameters.tensors} tensors (${Object.entries(r.parameters.byType).map(([t, b]) => `${t} ${formatBytes(b)}`).join(', ')})`,
    `    initializers ${formatBytes(r.parameters.inInitializers)}, Constant nodes ${formatBytes(r.parameters.inConstants)}, subgraphs ${formatBytes(r.parameters.inSubgraphs)}`,
  ];
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}
