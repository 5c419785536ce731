/**
 * The design's rule for the core: it imports neither Node's modules nor a particular onnxruntime
 * package, so that it runs unchanged in a browser. Walks every static import reachable from src/core.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SRC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

it('nothing reachable from onnxq/core imports Node modules, sharp or onnxruntime-node', () => {
  const seen = new Set<string>();
  const offending: string[] = [];
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) walk(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (/^(node:|fs$|path$|os$|sharp$|onnxruntime-node$|@napi-rs)/.test(spec)) offending.push(`${path.relative(SRC, file)} imports ${spec}`);
    }
  };
  walk(path.join(SRC, 'core.ts'));
  expect(seen.size).toBeGreaterThan(50);
  expect(offending).toEqual([]);
});
