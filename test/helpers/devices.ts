/**
 * The device kinds every fixture is read through: memory, Blob, file and HTTP (a real server
 * on 127.0.0.1). Tests loop over `DEVICE_KINDS` so a format is proven on each.
 */
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { cached, fromBlob, fromBytes, fromUrl, type BlockDevice } from '../../src/index.js';
import { openFile } from '../../src/node/index.js';
import { FIXTURES } from './fixtures.js';
import { startStaticServer, type StaticServer } from './static-server.js';

export interface DeviceKind {
  name: 'memory' | 'blob' | 'file' | 'http' | 'cached http';
  open(path: string): Promise<BlockDevice>;
}

let server: StaticServer | undefined;

/** Starts the fixture server once for the test file; call `stopFixtureServer` in afterAll. */
export async function fixtureServer(): Promise<StaticServer> {
  server ??= await startStaticServer(FIXTURES);
  return server;
}

export async function stopFixtureServer(): Promise<void> {
  await server?.close();
  server = undefined;
}

export const DEVICE_KINDS: DeviceKind[] = [
  { name: 'memory', open: async (path) => fromBytes(new Uint8Array(await readFile(path)), path) },
  { name: 'blob', open: async (path) => fromBlob(await openAsBlob(path), path) },
  { name: 'file', open: (path) => openFile(path) },
  {
    name: 'http',
    open: async (path) => {
      const s = await fixtureServer();
      const rel = relative(FIXTURES, path).split('/').map(encodeURIComponent).join('/');
      return fromUrl(`${s.url}/${rel}`);
    },
  },
  {
    // What the CLI uses for URLs: the HTTP device behind a block cache.
    name: 'cached http',
    open: async (path) => {
      const s = await fixtureServer();
      const rel = relative(FIXTURES, path).split('/').map(encodeURIComponent).join('/');
      return cached(await fromUrl(`${s.url}/${rel}`), { blockSize: 256 * 1024 });
    },
  },
];
