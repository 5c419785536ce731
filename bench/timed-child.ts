/**
 * Runs a Node script (the onnxq CLI, or a bench child) in a fresh process, as a user would start it,
 * with a time limit: a run past the limit is killed and recorded as timed out instead of hanging
 * the bench. The wall time is measured here around the whole process, start-up included. The peak
 * resident set comes from bench/peak-hook.ts, preloaded into the child; if the child dies by a
 * signal before it can report, the last VmHWM polled from /proc/<pid>/status (every 200 ms) stands
 * in as a lower bound.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStatus } from './proc-status.js';

const PEAK_HOOK = fileURLToPath(new URL('./peak-hook.js', import.meta.url));
const POLL_MS = 200;

export interface ChildRun {
  wallMs: number;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  peakRssBytes?: number;
  /** The peak is the last polled value, not the process's own final report (it was killed). */
  peakIsLowerBound?: boolean;
}

export function runTimed(script: string, args: string[], timeoutMs: number): Promise<ChildRun> {
  const peakFile = path.join(os.tmpdir(), `onnxq-bench-peak-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const p = spawn(process.execPath, ['--import', PEAK_HOOK, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ONNXQ_BENCH_PEAK_FILE: peakFile },
    });
    // If memory runs out, the kernel is to kill this child, whose peak is what is being measured,
    // before the bench or anything else on the machine (best effort: raising one's own child's score
    // needs no privilege).
    try {
      fs.writeFileSync(`/proc/${p.pid}/oom_score_adj`, '1000');
    } catch {
      /* not Linux, or already gone */
    }
    let stdout = '';
    let stderr = '';
    let polled = NaN;
    let timedOut = false;
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const poll = setInterval(() => {
      const v = procStatus('VmHWM', p.pid!);
      if (Number.isFinite(v)) polled = v;
    }, POLL_MS);
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('error', (e) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(e);
    });
    p.on('close', (exitCode, signal) => {
      const wallMs = performance.now() - start;
      clearInterval(poll);
      clearTimeout(timer);
      let reported = NaN;
      try {
        reported = Number(fs.readFileSync(peakFile, 'utf8'));
        fs.rmSync(peakFile, { force: true });
      } catch {
        /* killed before the exit hook ran */
      }
      const peak = Number.isFinite(reported) ? reported : polled;
      resolve({
        wallMs, exitCode, signal, timedOut, stdout, stderr,
        ...(Number.isFinite(peak) ? { peakRssBytes: peak, ...(Number.isFinite(reported) ? {} : { peakIsLowerBound: true }) } : {}),
      });
    });
  });
}

/** Why a run failed, as one line; undefined when it exited 0. */
export function failure(run: ChildRun, timeoutMs: number): string | undefined {
  if (run.timedOut) return `timed out after ${(timeoutMs / 1000).toFixed(0)} s`;
  if (run.signal) return `killed by ${run.signal}${run.signal === 'SIGKILL' ? ' (out of memory?)' : ''}${lastLines(run.stderr)}`;
  if (run.exitCode !== 0) return `exit ${run.exitCode}${lastLines(run.stderr) || lastLines(run.stdout)}`;
  return undefined;
}

/** The CLI's own error paragraph (`onnxq: …`), else a crash's telling line (FATAL ERROR, an Error), else the last line. */
function lastLines(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => l.startsWith('onnxq:')) ?? lines.find((l) => /FATAL ERROR|Error\b|error:/.test(l)) ?? lines.at(-1);
  return line ? `: ${line}` : '';
}
