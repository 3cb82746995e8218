/**
 * The core runs in browsers unchanged: bundled by esbuild for the browser platform (a `node:`
 * import fails the build), the bundle is evaluated in a context with only the web platform's
 * globals (no process, Buffer, require or __dirname), where it probes, opens and checks a qcow2
 * fixture from its bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '../..');

describe('the core in a browser bundle', () => {
  it('bundles for the browser with no Node built-in, and checks an image with only web globals', async () => {
    const r = await build({
      entryPoints: [join(ROOT, 'src/index.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'diskprobe',
      platform: 'browser',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.filter((i) => i.startsWith('node:') || /(^|\/)src\/(node|cli)\//.test(i))).toEqual([]);
    const code = r.outputFiles[0]!.text;
    // Web globals only: what a browser worker has that the core may use.
    const sandbox: Record<string, unknown> = {
      TextDecoder, TextEncoder, Uint8Array, DataView, ArrayBuffer, WebAssembly, URL, AbortController, AbortSignal, Blob, Response, Headers, ReadableStream, WritableStream, TransformStream, DecompressionStream, DOMException, Event, EventTarget,
      fetch: () => Promise.reject(new Error('no network in this test')), setTimeout, clearTimeout, queueMicrotask, performance, crypto, console, atob, btoa,
    };
    sandbox.self = sandbox;
    sandbox.globalThis = sandbox;
    for (const g of ['process', 'Buffer', 'require', '__dirname', 'module', 'global']) expect(g in sandbox).toBe(false);
    runInNewContext(code, sandbox);
    const dp = sandbox.diskprobe as typeof import('../../src/index.js');
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'checks/good.qcow2')));
    const report = await dp.check(dp.fromBlob(new Blob([bytes]), 'good.qcow2'), { profile: 'alibaba', digestSkipped: 'test' });
    expect(report.image.format).toBe('qcow2');
    expect(report.guest?.distro).toBe('ubuntu');
    expect(report.check_items.find((i) => i.id === 'linux.virtio')?.result).toBe('OK');
  });
});
