/** Runs the built CLI (dist/, built by `npm test`'s pretest step) as a user would. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function onnxq(args: string[], cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A failure as the CLI must report it: non-zero exit, a message, and no stack trace. */
export function expectCleanFailure(r: CliResult, pattern: RegExp): void {
  if (r.code === 0) throw new Error(`expected a failure, got exit 0:\n${r.stdout}`);
  if (!pattern.test(r.stderr)) throw new Error(`stderr does not match ${pattern}:\n${r.stderr}`);
  if (/\n\s+at .+:\d+:\d+/.test(r.stderr)) throw new Error(`stderr holds a stack trace:\n${r.stderr}`);
}
