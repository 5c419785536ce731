/** `--runtime node | wasm`: which onnxruntime a command's models run on (src/node/wasm-runtime.ts says why wasm). */
import { Option, type Command } from 'commander';
import { useWasmRuntime } from '../node/wasm-runtime.js';

export function withRuntimeOption(command: Command): Command {
  return command
    .addOption(
      new Option('--runtime <name>', "node: onnxruntime-node's native kernels; wasm: onnxruntime-web's WebAssembly ones, as the studio runs them (the studio's bytes, on one thread unless --threads; slower)")
        .choices(['node', 'wasm'])
        .default('node'),
    )
    .hook('preAction', async (cmd) => {
      const { runtime, threads } = cmd.opts<{ runtime: string; threads?: number }>();
      // onnxruntime-node is the default the Node entry gives the core; wasm replaces it before any session.
      if (runtime === 'wasm') await useWasmRuntime(threads);
    });
}
