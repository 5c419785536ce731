/**
 * `npm run fuzz -- [--count 10000] [--seed 1] [--timeout 60]`: mutants of the fuzz seeds (fuzz/run.ts)
 * through onnxq in worker processes, with a counted summary. A mutant that hangs past the timeout or
 * kills its worker (a crash in native code) is recorded as such, and the run goes on after it. The exit
 * code is 1 when any outcome is a bug, a hang or a crash.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { seeds, writeCalibration, type Outcome } from './run.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

const opts = new Command()
  .option('--count <n>', 'mutants to run', '10000')
  .option('--seed <n>', 'the fuzz seed: the same seed gives the same mutants', '1')
  .option('--timeout <s>', 'seconds a mutant may take before it counts as a hang', '60')
  .parse()
  .opts<{ count: string; seed: string; timeout: string }>();

/** Runs mutants [start, count) in one worker until it finishes, hangs or dies; returns where to go on. */
function worker(start: number, count: number, dir: string, outcomes: Outcome[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, opts.seed, String(start), String(count), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let current = start;
    let buffer = '';
    let timer: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        outcomes.push({ index: current, seed: '?', mutator: 'flip', action: 'inspect', result: 'hang', message: `no answer in ${opts.timeout} s` });
        child.kill('SIGKILL');
      }, Number(opts.timeout) * 1000);
    };
    arm();
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('start ')) current = Number(line.slice(6));
        else if (line.startsWith('{')) {
          outcomes.push(JSON.parse(line) as Outcome);
          arm();
        }
      }
    });
    child.stderr.resume();
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = outcomes[outcomes.length - 1];
      if ((code !== 0 || signal) && last?.index !== current) outcomes.push({ index: current, seed: '?', mutator: 'flip', action: 'inspect', result: 'crash', message: `worker died (${signal ?? `exit ${code}`})` });
      resolve(code === 0 && !signal ? count : current + 1);
    });
  });
}

async function main(): Promise<void> {
  const count = Number(opts.count);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxq-fuzz-'));
  const started = performance.now();
  const outcomes: Outcome[] = [];
  try {
    writeCalibration(dir, seeds());
    for (let next = 0; next < count; ) {
      // A worker killed mid-mutant leaves its files: clear them, or the next mutant would be blamed.
      for (const f of fs.readdirSync(dir)) if (!f.endsWith('.npy')) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      next = await worker(next, count, dir, outcomes);
      process.stderr.write(`\r${outcomes.length}/${count} mutants`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const tally = new Map<string, number>();
  for (const o of outcomes) tally.set(`${o.result}`, (tally.get(o.result) ?? 0) + 1);
  const byMutator = new Map<string, number>();
  for (const o of outcomes) if (o.result === 'ok') byMutator.set(o.mutator, (byMutator.get(o.mutator) ?? 0) + 1);
  process.stdout.write(`\nonnxq fuzz: ${outcomes.length} mutants (seed ${opts.seed}) in ${seconds.toFixed(0)} s\n`);
  for (const [result, n] of [...tally].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${result.padEnd(16)} ${n}\n`);
  process.stdout.write(`  successes by mutator: ${[...byMutator].map(([m, n]) => `${m} ${n}`).join(', ')}\n`);
  const bad = outcomes.filter((o) => ['bug', 'hang', 'crash'].includes(o.result));
  for (const o of bad.slice(0, 30)) process.stdout.write(`  ${o.result}: mutant ${o.index} (${o.seed}, ${o.mutator}, ${o.action}): ${o.message}\n`);
  if (bad.length) process.exitCode = 1;
}

await main();
