/**
 * Preloaded into a bench child with `node --import …/peak-hook.js`: as the process exits (normally,
 * by process.exit or with an exit code after an error), it writes its own peak resident set (VmHWM)
 * to the file named by ONNXQ_BENCH_PEAK_FILE. This way the real CLI runs unchanged, as a user runs
 * it, and its exact peak is still known: the parent cannot read a child's VmHWM after it exits, and
 * /usr/bin/time is not on every machine. A process killed by a signal (out of memory, timeout)
 * writes nothing; bench/timed-child.ts then falls back to the peak it last polled.
 */
import fs from 'node:fs';
import { procStatus } from './proc-status.js';

const file = process.env.ONNXQ_BENCH_PEAK_FILE;
if (file) process.on('exit', () => fs.writeFileSync(file, String(procStatus('VmHWM'))));
