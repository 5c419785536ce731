import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/temp-root.ts'],
    // The core runs models on the onnxruntime it is given; tests give it onnxruntime-node.
    setupFiles: ['test/helpers/node-runtime.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests run ONNX Runtime sessions; two cores are shared between workers and ORT threads.
    maxWorkers: 2,
  },
});
