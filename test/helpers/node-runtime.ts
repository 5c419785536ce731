/**
 * Vitest setup file: gives the core onnxruntime-node in every test file, as importing `onnxq` does.
 * Tests import core modules (../src/quantize.js …) directly, which name no onnxruntime themselves.
 */
import '../../src/node/runtime.js';
