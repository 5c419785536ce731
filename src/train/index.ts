/**
 * src/train: training on the ONNX file itself, on onnxruntime, with no training framework. The backward
 * pass is written as ordinary ONNX ops (one rule per op type, rules.ts and backward/), so that one
 * training step is an inference graph.
 * - buildTrainingGraph (graph.ts): model → graph whose outputs are the loss and grad_<name> per trainable;
 * - insertFakeQuant, inferenceModel, measureShapes (fake-quant.ts): fake quantization with STE/LSQ gradients;
 * - optimizers.ts (SGD with momentum, Adam, cosine schedule) and loop.ts (parameters in Float32Arrays fed to one session).
 */
export { buildTrainingGraph, TRAIN_OPSET, type Loss, type TrainingGraph, type TrainingGraphOptions } from './graph.js';
export { insertFakeQuant, inferenceModel, measureShapes, quantRange, type FakeQuantSpec, type FakeQuantized } from './fake-quant.js';
export { BACKWARD, backwardRule } from './rules.js';
export type { Backward, BackwardRule } from './backward/rule.js';
export { adam, sgd, cosineSchedule, type Optimizer, type AdamOptions, type SgdOptions, type CosineOptions } from './optimizers.js';
export { Trainer, fit, gather, batchOrder, initialParams, withParams, random, type TrainerOptions, type FitOptions, type Stacked } from './loop.js';
