/**
 * `npm run build:web`: bundles the web page (web/app.ts and its worker, web/worker.ts, with the
 * core) for browsers with esbuild into dist-web/, beside web/index.html and web/style.css. The
 * bundle is built for the browser platform: a `node:` import anywhere in what it pulls in fails
 * the build.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

export const ROOT = join(import.meta.dirname, '..');
export const WEB_OUT = join(ROOT, 'dist-web');

export async function buildWeb(out = WEB_OUT): Promise<string> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: { app: join(ROOT, 'web/app.ts'), worker: join(ROOT, 'web/worker.ts') },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(ROOT, 'web', f), join(out, f));
  return out;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const out = await buildWeb();
  console.log(`built the web page into ${out}`);
}
