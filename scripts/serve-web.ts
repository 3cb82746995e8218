/**
 * `npm run serve:web [-- --port N]`: serves dist-web/ (run `npm run build:web` first) on
 * 127.0.0.1, with range requests, so the page can also check images by URL from this server
 * (put them under dist-web/ or give any URL that allows range requests and CORS).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startStaticServer } from './static-server.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' } } });
const root = join(import.meta.dirname, '..', 'dist-web');
if (!existsSync(join(root, 'index.html'))) {
  console.error('dist-web/ is not built: run npm run build:web first');
  process.exit(1);
}
const server = await startStaticServer(root, { port: Number(values.port), cors: true });
console.log(`diskprobe's web page: ${server.url}/index.html (Ctrl-C to stop)`);
