/** A small CNN for the EasyQuant tests: Conv → Relu → Conv (stride 2) → Relu → GlobalAveragePool → Gemm. */
import { randomWeight, type ModelSpec } from '../helpers/build.js';

export const cnn: ModelSpec = {
  inputs: [{ name: 'x', dims: [1, 3, 16, 16] }],
  outputs: [{ name: 'y' }],
  initializers: [
    randomWeight('w1', [8, 3, 3, 3], 1),
    randomWeight('b1', [8], 2, 0.1),
    randomWeight('w2', [16, 8, 3, 3], 3, 0.3),
    randomWeight('b2', [16], 4, 0.1),
    randomWeight('w3', [10, 16], 5),
    randomWeight('b3', [10], 6, 0.1),
  ],
  nodes: [
    { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['c1'], outputs: ['r1'] },
    { opType: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
    { opType: 'Relu', inputs: ['c2'], outputs: ['r2'] },
    { opType: 'GlobalAveragePool', inputs: ['r2'], outputs: ['g'] },
    { opType: 'Flatten', inputs: ['g'], outputs: ['f'] },
    { opType: 'Gemm', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
  ],
};
