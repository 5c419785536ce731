/** A field of /proc/self/status in bytes: VmHWM (the process's peak resident set so far) or VmRSS (now). */
import fs from 'node:fs';

export function procStatus(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
