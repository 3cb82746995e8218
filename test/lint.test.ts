/**
 * The core must run in browsers: the lint config must reject Node built-ins, Buffer and
 * process outside src/node and src/cli, and accept them inside.
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: join(import.meta.dirname, '..') });

async function messages(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(import.meta.dirname, '..', file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the core stays free of Node', () => {
  it('rejects node: imports, bare built-in names, Buffer, process and the Node adapters in the core', async () => {
    const code = [
      "import { readFile } from 'node:fs/promises';",
      "import { join } from 'path';",
      "import { openFile } from '../node/file.js';",
      'export const x = [readFile, join, openFile, Buffer.alloc(1), process.env];',
    ].join('\n');
    const found = await messages(code, 'src/device/example.ts');
    expect(found.filter((m) => m.startsWith('no-restricted-imports'))).toHaveLength(3);
    expect(found.filter((m) => m.startsWith('no-restricted-globals'))).toHaveLength(2);
  });
  it('allows them in src/node and src/cli', async () => {
    const code = "import { readFile } from 'node:fs/promises';\nexport const x = [readFile, Buffer.alloc(1), process.env];\n";
    expect(await messages(code, 'src/node/example.ts')).toEqual([]);
    expect(await messages(code, 'src/cli/example.ts')).toEqual([]);
  });
  it('leaves the core\'s own util folder alone', async () => {
    expect(await messages("import { viewOf } from '../util/bytes.js';\nexport const v = viewOf;\n", 'src/device/example.ts')).toEqual([]);
  });
});
