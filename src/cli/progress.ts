/**
 * Progress on a terminal only: a bar on stderr while calibration (or weight-only quantization) runs; nothing in pipes or CI,
 * so logs and --json output stay clean.
 */
import cliProgress from 'cli-progress';

/** `detail`: a short text shown after the count (e.g. training's loss). */
export type ProgressFn = (phase: string, done: number, total: number, detail?: string) => void;

/** What each phase counts. */
const UNITS: Record<string, string> = { quantizing: 'weights', training: 'steps', adaround: 'layers/blocks' };

export function terminalProgress(enabled = process.stderr.isTTY && !process.env.CI): { update: ProgressFn; stop: () => void } {
  if (!enabled) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  return {
    update(phase, done, total, detail) {
      if (phase !== current) {
        bar?.stop();
        current = phase;
        bar = new cliProgress.SingleBar(
          { format: `  ${phase.padEnd(10)} [{bar}] {value}/{total} ${UNITS[phase] ?? 'samples'} {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { detail: '' });
      }
      bar!.update(done, { detail: detail ?? '' });
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Runs `work` with a bar on a terminal (not with --json, in pipes or in CI), stopped however the work ends. */
export async function withProgress<T>(json: boolean | undefined, work: (update: ProgressFn) => Promise<T>): Promise<T> {
  const progress = terminalProgress(!json && process.stderr.isTTY && !process.env.CI);
  try {
    return await work(progress.update);
  } finally {
    progress.stop();
  }
}
