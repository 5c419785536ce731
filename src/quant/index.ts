/** The numeric core: quantization specs, scale/zero-point math, quantize/dequantize, bias. No graph here. */
export * from './spec.js';
export * from './round.js';
export * from './params.js';
export * from './quantize.js';
export * from './bias.js';
