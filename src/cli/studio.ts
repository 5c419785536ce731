/** `onnxq studio`: serves the studio page on this machine and says where; Ctrl-C stops it. */
import { serveStudio } from '../node/studio.js';

export const DEFAULT_STUDIO_PORT = 8642;

export async function runStudio(options: { port?: number }): Promise<void> {
  const studio = await serveStudio(options.port ?? DEFAULT_STUDIO_PORT);
  process.stdout.write(`onnxq studio: open ${studio.url} in a browser (Chromium, Firefox or Safari). Models and data stay on this machine. Ctrl-C stops it.\n`);
}
