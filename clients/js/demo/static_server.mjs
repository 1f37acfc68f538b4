// A tiny static file server for the demo and the browser tests, bound to 127.0.0.1: pages must
// come from an http origin, since Chromium blocks file: and about:blank pages from loopback.

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

const kTypes = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * Serves each URL prefix of `mounts` ({'/': '/abs/dir', ...}) from its directory; nothing
 * outside them. Resolves with { server, origin } once listening on `port` (0: any free one).
 */
export function startStaticServer(mounts, port = 0) {
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://localhost');
    let pathname = decodeURIComponent(url.pathname);
    if (pathname.endsWith('/')) pathname += 'index.html';
    const mount = entries.find(([prefix]) => pathname.startsWith(prefix));
    const file = mount && path.resolve(mount[1], `.${pathname.slice(mount[0].length - 1)}`);
    if (!file || !file.startsWith(path.resolve(mount[1]) + path.sep) || request.method !== 'GET') {
      response.writeHead(404).end('not found');
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, {
        'Content-Type': kTypes[path.extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}` });
    });
  });
}
