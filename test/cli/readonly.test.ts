/**
 * The input is never written (issue #16): every file under fixtures/ has the same bytes, size and
 * modification time after every read-only CLI command ran on every disk fixture (probe, info
 * --check, volumes, inspect, check, ls, stat, reg, convert to a file elsewhere); and every place
 * the Node adapters and the CLI open a file opens it read-only, but the outputs the user names
 * (convert's output, check -o).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureIndex, FIXTURES } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

const ROOT = join(import.meta.dirname, '../..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.work')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function snapshot(): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of files(FIXTURES)) {
    const st = statSync(f);
    m.set(relative(FIXTURES, f), `${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(f)).digest('hex')}`);
  }
  return m;
}

describe('the input is never written', () => {
  it('no fixture changes (bytes, size, mtime) under every read-only CLI command', { timeout: 300_000 }, async () => {
    const before = snapshot();
    const out = mkdtempSync(join(tmpdir(), 'diskprobe-ro-'));
    const disks = fixtureIndex().filter((e) => e.kind === 'disk').map((e) => join(FIXTURES, e.file));
    const guests = ['checks/good.qcow2', 'checks/uefi-full.qcow2', 'windows/win-good.qcow2', 'windows/win-bad.qcow2', 'guests/debian.qcow2', 'registry/windows-shaped.qcow2'].map((f) => join(FIXTURES, f));
    const hives = ['registry/dirty-new.hive', 'registry/dirty-old.hive', 'registry/system.hive'].map((f) => join(FIXTURES, f));
    let ran = 0;
    const run = async (args: string[]) => {
      await runCli(args);
      ran++;
    };
    for (const d of disks) {
      await run(['probe', d]);
      await run(['info', '--check', d]);
      await run(['volumes', d]);
    }
    for (const g of guests) {
      await run(['inspect', g]);
      await run(['check', '--profile', 'all', '--no-md5', '--quiet', g]);
      await run(['ls', '-R', g, '/']);
      await run(['stat', '-f', g, '/']);
    }
    // check computes digests (reads the files through the digest worker too), and convert reads
    // a whole image, writing only the output it is given.
    await run(['check', '--quiet', join(FIXTURES, 'checks/good.qcow2')]);
    await run(['convert', join(FIXTURES, 'windows/win-good.qcow2'), '-O', 'raw', join(out, 'win.raw')]);
    // Dirty hives are replayed in memory, never onto the files.
    for (const h of hives) await run(['reg', '--export', h]);
    await run(['reg', join(FIXTURES, 'windows/win-bad.qcow2'), 'SYSTEM\\ControlSet001\\Services\\viostor']);
    expect(ran).toBeGreaterThan(disks.length * 3);
    const after = snapshot();
    const changed = [...before].filter(([f, v]) => after.get(f) !== v).map(([f]) => f);
    expect(changed).toEqual([]);
    expect([...after.keys()].filter((f) => !before.has(f))).toEqual([]);
  });

  it('the Node adapters and the CLI open inputs read-only: every open() names a read-only mode, but the outputs the user names', () => {
    const opens: string[] = [];
    for (const f of [...files(join(ROOT, 'src/node')), ...files(join(ROOT, 'src/cli'))].filter((p) => p.endsWith('.ts'))) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\b(open|openSync)\(([^)]+)\)/g)) opens.push(`${relative(ROOT, f)}: ${m[0]}`);
      // Writers: only where a user names an output.
      for (const m of text.matchAll(/\b(writeFile|writeFileSync|createWriteStream|appendFile|truncate|ftruncate)\(/g)) {
        expect(['src/cli/check.ts', 'src/cli/convert.ts'], `${relative(ROOT, f)} calls ${m[1]}`).toContain(relative(ROOT, f));
      }
    }
    expect(opens.length).toBeGreaterThan(2);
    for (const o of opens) {
      if (o.startsWith('src/cli/convert.ts')) continue; // the output file (r+ or wx), never an input
      expect(o, o).toMatch(/'r'|O_RDONLY/);
    }
  });
});
