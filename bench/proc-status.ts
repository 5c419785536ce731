/**
 * A field of /proc/<pid>/status in bytes: VmHWM (the process's peak resident set so far) or VmRSS
 * (now). Of this process by default; of a child while it lives (its status is gone once it exits).
 */
import fs from 'node:fs';

export function procStatus(field: 'VmHWM' | 'VmRSS', pid: number | 'self' = 'self'): number {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return NaN; // the process has already exited
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : NaN;
}
