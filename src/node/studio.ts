/**
 * The studio's static server: dist/browser/ (the page, its worker, onnxq/web and onnxruntime-web's
 * WebAssembly) on 127.0.0.1 only. It sends the headers that make the page cross-origin isolated, so
 * that onnxruntime-web may use WebAssembly threads; opened from another static host without them, the
 * page still works, on one thread. Nothing is uploaded: the server only reads its own files.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../errors.js';

/** dist/browser/, from this module's place in dist/src/node/. */
export const STUDIO_FILES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'browser');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

export interface Studio {
  url: string;
  close(): Promise<void>;
}

export async function serveStudio(port = 0, root = STUDIO_FILES): Promise<Studio> {
  if (!fs.existsSync(path.join(root, 'index.html'))) fail('IO', `the studio's files are not built (${root}/index.html is missing). Run npm run build in onnxq's folder.`);
  const server = http.createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
    };
    const name = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(root, name);
    const type = TYPES[path.extname(file)];
    // Only files of the folder itself, of the kinds the page is made of.
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path.dirname(file) !== root || !type || !fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': fs.statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error(`port ${port} is in use; pass --port 0 for a free one, or another number.`) : e),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  }).catch((e: Error) => fail('IO', `cannot start the studio: ${e.message}`, e));
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
