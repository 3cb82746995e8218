import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { facts, fixtureIndex, fixturePath } from '../helpers/fixtures.js';
import { fixtureServer, stopFixtureServer } from '../helpers/devices.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const entry = (file: string) => {
  const e = fixtureIndex().find((x) => x.file === file);
  if (!e) throw new Error(`fixture ${file} missing from fixtures/index.json`);
  return { path: fixturePath(file), facts: facts(e) };
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'diskprobe-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await stopFixtureServer();
});

describe('diskprobe --help', () => {
  it('prints help for the tool and each command, exit 0', async () => {
    for (const args of [['--help'], ['probe', '--help'], ['convert', '-h'], ['help', 'probe']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: diskprobe/);
      expect(r.out).toMatch(/Exit codes/);
    }
  });
  it('exits 2 on an unknown command or a missing argument', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['probe'])).code).toBe(2);
    expect((await runCli(['probe', '--bogus', 'x'])).code).toBe(2);
    expect((await runCli(['convert', 'a'])).code).toBe(2);
  });
});

describe('diskprobe probe', () => {
  it('prints a JSON array with the facts qemu-img reports', async () => {
    const raw = entry('images/raw/disk.raw');
    const qcow = entry('images/qcow2/v3.qcow2');
    const r = await runCli(['probe', '--json', raw.path, qcow.path]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as Record<string, any>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ path: raw.path, format: 'raw', virtualSize: raw.facts.qemuImgInfo['virtual-size'], fileSize: raw.facts.size });
    expect(rows[1]).toMatchObject({ path: qcow.path, format: 'qcow2', subformat: 'v3', virtualSize: qcow.facts.qemuImgInfoPinned['virtual-size'], fileSize: qcow.facts.size });
    for (const row of rows) {
      expect(Array.isArray(row.evidence)).toBe(true);
      expect(Array.isArray(row.rejected)).toBe(true);
    }
    expect(rows[1]!.evidence[0]).toEqual({ offset: 0, what: 'magic "QFI\\xfb"' });
  });

  it('prints a table, and exits 1 when an input is not a usable disk', async () => {
    const empty = entry('images/raw/empty.raw');
    const r = await runCli(['probe', empty.path, entry('images/raw/disk.raw').path]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^PATH\s+FORMAT\s+SUBFORMAT\s+VIRTUAL SIZE\s+FILE SIZE/);
    expect(r.out).toMatch(/empty\.raw: the file is empty/);
  });

  it('exits 2 when an input cannot be read, and still reports the others', async () => {
    const r = await runCli(['probe', '--json', join(dir, 'missing.img'), entry('images/raw/disk.raw').path]);
    expect(r.code).toBe(2);
    const rows = JSON.parse(r.out) as Record<string, any>[];
    expect(rows[0]!.error.code).toBe('E_IO');
    expect(rows[1]!.format).toBe('raw');
  });

  it('probes a URL', async () => {
    const server = await fixtureServer();
    const r = await runCli(['probe', '--json', `${server.url}/images/qcow2/v3.qcow2`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)[0]).toMatchObject({ format: 'qcow2', subformat: 'v3' });
  });
});

describe('diskprobe convert', () => {
  const raw = () => entry('images/raw/disk.raw');

  it('writes the guest bytes of a raw image to a file, sparse, with the sha256 qemu-img produced', async () => {
    const out = join(dir, 'out.raw');
    const r = await runCli(['convert', raw().path, '-O', 'raw', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const written = await readFile(out);
    expect(sha256(written)).toBe(raw().facts.rawSha256);
    expect((await stat(out)).blocks * 512).toBeLessThan(written.length); // holes where zeros were
  });

  it('streams to standard output with "-"', async () => {
    const r = await runCli(['convert', raw().path, '-O', 'raw', '-']);
    expect(r.code).toBe(0);
    expect(sha256(r.bytes)).toBe(raw().facts.rawSha256);
  });

  it('converts from a URL', async () => {
    const server = await fixtureServer();
    const r = await runCli(['convert', `${server.url}/images/raw/odd.raw`, '-O', 'raw', '-']);
    expect(r.code).toBe(0);
    expect(sha256(r.bytes)).toBe(entry('images/raw/odd.raw').facts.rawSha256);
  });

  it('waits for a slow standard output (backpressure) and still writes every byte', async () => {
    const { Writable } = await import('node:stream');
    const { main } = await import('../../src/cli/main.js');
    const hash = createHash('sha256');
    let drains = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Uint8Array, _enc, done) {
        hash.update(chunk);
        setImmediate(done);
      },
    });
    slow.on('drain', () => drains++);
    const code = await main(['convert', raw().path, '-O', 'raw', '-'], { out: () => undefined, err: () => undefined, stdout: slow });
    await new Promise((r) => slow.end(r));
    expect(code).toBe(0);
    expect(drains).toBeGreaterThan(0);
    expect(hash.digest('hex')).toBe(raw().facts.rawSha256);
  });

  it('refuses to write over the backing file of its input, and leaves it intact', async () => {
    const sub = await mkdtemp(join(dir, 'backing-'));
    await writeFile(join(sub, 'top.qcow2'), await readFile(fixturePath('images/qcow2/overlay.qcow2')));
    await writeFile(join(sub, 'v3.qcow2'), await readFile(fixturePath('images/qcow2/v3.qcow2')));
    const before = sha256(await readFile(join(sub, 'v3.qcow2')));
    const r = await runCli(['convert', join(sub, 'top.qcow2'), '-O', 'raw', join(sub, 'v3.qcow2')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/one of the files the image reads/);
    expect(sha256(await readFile(join(sub, 'v3.qcow2')))).toBe(before);
  });

  it('info shows the header of an image whose backing file is missing, and exits 2', async () => {
    const sub = await mkdtemp(join(dir, 'missing-'));
    await writeFile(join(sub, 'top.qcow2'), await readFile(fixturePath('images/qcow2/overlay.qcow2')));
    const r = await runCli(['info', join(sub, 'top.qcow2')]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/file format: qcow2/);
    expect(r.out).toMatch(/backingFile: v3\.qcow2/);
    expect(r.out).toMatch(/error: cannot open the image/);
  });

  it('refuses to write over its input', async () => {
    const copy = join(dir, 'self.raw');
    await writeFile(copy, new Uint8Array(4096).fill(1));
    const before = await readFile(copy);
    const r = await runCli(['convert', copy, '-O', 'raw', copy]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/never writes its input/);
    expect(await readFile(copy)).toEqual(before);
  });

  it('refuses an image of a format it cannot read yet, naming why and the flag to use, exit 2', async () => {
    const out = join(dir, 'x.raw');
    // VHD is read since issue #10: a format still named and not read is qed.
    const r = await runCli(['convert', entry('images/other/disk.qed').path, '-O', 'raw', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/QED images are recognised but not read by diskprobe; convert with `qemu-img convert -O qcow2`/);
    await expect(stat(out)).rejects.toThrow(); // nothing left behind
  });

  it('converts a qcow2 image to the bytes qemu-img produced', async () => {
    const qcow = entry('images/qcow2/v3.qcow2');
    const r = await runCli(['convert', qcow.path, '-O', 'raw', '-']);
    expect(r.code).toBe(0);
    expect(sha256(r.bytes)).toBe(qcow.facts.rawSha256);
  });

  it('reads a file as raw when told to with -f raw', async () => {
    const qcow = entry('images/qcow2/v3.qcow2');
    const r = await runCli(['convert', '-f', 'raw', qcow.path, '-O', 'raw', '-']);
    expect(r.code).toBe(0);
    expect(sha256(r.bytes)).toBe(qcow.facts.sha256);
  });

  it('refuses output formats other than raw', async () => {
    expect((await runCli(['convert', raw().path, '-O', 'qcow2', '-'])).code).toBe(2);
  });
});

describe('sizes in the table', () => {
  it('are exact unless they are a whole number of the unit', async () => {
    const { humanSize } = await import('../../src/cli/io.js');
    expect(humanSize(8 * 2 ** 20)).toBe('8 MiB');
    expect(humanSize(8390656)).toBe('8390656 B (8.00 MiB)');
    expect(humanSize(512)).toBe('512 B');
    expect(humanSize(1536)).toBe('1536 B (1.50 KiB)');
    expect(humanSize(undefined)).toBe('-');
  });
});

describe('diskprobe volumes', () => {
  const vol = (name: string) => fixturePath(`volumes/${name}`);
  const volFacts = async (name: string) => JSON.parse(await readFile(fixturePath(`volumes/${name}.facts.json`), 'utf8')) as Record<string, any>;

  it('prints the table, each volume with its content, and the volume groups', async () => {
    const r = await runCli(['volumes', vol('gpt.qcow2')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/GPT \(disk GUID 0D15C0B0-0000-4000-8000-0000000000A1\), 128 MiB, 512-byte sectors, boot code: syslinux/);
    expect(r.out).toMatch(/^p3 .*Linux root \(x86-64\)\s+root\s+ext4 1\.0\s+0d15c0b0-0000-4000-8000-000000000403\s+gpt-root$/m);
    expect(r.out).toMatch(/^Volume group vg0 /m);
    expect(r.out).toMatch(/^vg0\/root\s+16 MiB\s+linear\s+ext4 1\.0/m);
  });

  it('--json gives the volumes with what sfdisk and blkid recorded; two disks make one volume group', async () => {
    const r = await runCli(['volumes', '--json', vol('span-a.qcow2'), vol('span-b.qcow2')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { disks: { path: string }[]; volumes: { id: string; size: number; problem?: string }[]; volumeGroups: { name: string; uuid: string }[] };
    const facts = await volFacts('span-a');
    expect(out.disks.map((d) => d.path)).toEqual([vol('span-a.qcow2'), vol('span-b.qcow2')]);
    expect(out.volumeGroups.map((g) => g.uuid)).toEqual([facts.lvm.vgs[0].vg_uuid]);
    expect(out.volumes.find((v) => v.id === 'span/striped')!.size).toBe(16 << 20);
    expect(out.volumes.find((v) => v.id === 'span/thin')!.problem).toMatch(/thin/);
  });

  it('exits 1 when a table has an error finding, 2 when an image cannot be read or none is given', async () => {
    // A raid-a disk alone is fine; a missing file is an input error.
    expect((await runCli(['volumes', vol('raid-a.qcow2')])).code).toBe(0);
    expect((await runCli(['volumes', join(dir, 'missing.qcow2')])).code).toBe(2);
    expect((await runCli(['volumes'])).code).toBe(2);
    const bad = join(dir, 'ebr-loop.raw');
    const mbr = new Uint8Array(4 << 20);
    const v = new DataView(mbr.buffer);
    mbr[446 + 4] = 0x05;
    v.setUint32(446 + 8, 2048, true);
    v.setUint32(446 + 12, 4096, true);
    mbr.set([0x55, 0xaa], 510);
    mbr[2048 * 512 + 446 + 4] = 0x05; // an EBR whose only record links to itself
    v.setUint32(2048 * 512 + 446 + 12, 8, true);
    mbr.set([0x55, 0xaa], 2048 * 512 + 510);
    await writeFile(bad, mbr);
    const r = await runCli(['volumes', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/error: mbr\.ebr-loop/);
  });
});

describe('diskprobe ls, cat, stat', () => {
  const ext4 = fixturePath('fs/ext/ext4.qcow2');
  const manifest = async () => JSON.parse(await readFile(fixturePath('fs/tree-full.manifest.json'), 'utf8')) as { records: { path: string; sha256?: string; size: number }[] };

  it('ls -l lists a directory with modes, sizes and link targets', async () => {
    const r = await runCli(['ls', '-l', ext4, '/links']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^lrwxrwxrwx\s+1\s+0\s+0\s+12 2024-01-01 00:00:00 fast -> \.\.\/small\.txt$/m);
    expect(r.out.trim().split('\n').length).toBe(8);
  });

  it('ls -R --json walks the tree; each entry carries its stat fields', async () => {
    const r = await runCli(['ls', '-R', '--json', '--volume', 'disk', ext4, '/deep']);
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.out) as { path: string; type: string; size: number }[];
    expect(entries.length).toBe(41);
    expect(entries.at(-1)!.path).toMatch(/\/d39\/bottom$/);
    expect(entries.at(-1)!.size).toBe(77);
  });

  it('cat writes the bytes of a file, as the source tree had them', async () => {
    const want = (await manifest()).records.find((x) => x.path === '/sizes/f200000')!;
    const r = await runCli(['cat', ext4, '/sizes/f200000']);
    expect(r.code).toBe(0);
    expect(sha256(r.bytes)).toBe(want.sha256);
  });

  it('stat --json names the flags set with debugfs; stat -f gives the filesystem state', async () => {
    const r = await runCli(['stat', '--json', ext4, '/small.txt', '/sizes/f100']);
    expect(r.code).toBe(0);
    const [a, b] = JSON.parse(r.out) as { flags: string[] }[];
    expect(a!.flags).toContain('immutable');
    expect(b!.flags).toContain('append-only');
    const f = await runCli(['stat', '-f', fixturePath('fs/ext/ext4-dirty.qcow2')]);
    expect(f.code).toBe(0);
    expect(f.out).toMatch(/state: not clean, errors recorded, journal needs recovery/);
    expect(f.out).toMatch(/last mounted: \/mnt\/guest-root at 2024-01-02T03:04:05Z/);
  });

  it('on NTFS and FAT: ls shows junctions, Windows symlinks and DOS-named files once; cat reads a named stream; stat -f says hibernated and dirty', async () => {
    const features = fixturePath('ntfs/ntfs-features.qcow2');
    const facts = JSON.parse(await readFile(fixturePath('ntfs/ntfs-features.facts.json'), 'utf8')) as { files: Record<string, { sha256?: string; streams?: Record<string, { sha256: string }> }> };
    const ls = await runCli(['ls', '-l', features, '/links']);
    expect(ls.code).toBe(0);
    expect(ls.out).toMatch(/^lrwxrwxrwx .* junction -> \/bigdir$/m);
    expect(ls.out).toMatch(/^lrwxrwxrwx .* winsym-abs -> \/links\/original\.txt$/m);
    const root = await runCli(['ls', features]);
    expect(root.out).toMatch(/^Long File Name With Spaces\.txt$/m);
    expect(root.out).not.toMatch(/LONGFI~1|\$MFT/);
    const cat = await runCli(['cat', features, '/ads.txt:beta']);
    expect(sha256(cat.bytes)).toBe(facts.files['/ads.txt']!.streams!.beta!.sha256);
    expect(sha256((await runCli(['cat', features, '/LONGFI~1.TXT'])).bytes)).toBe(facts.files['/Long File Name With Spaces.txt']!.sha256);
    const st = await runCli(['stat', '--json', features, '/compressed/text.txt']);
    expect((JSON.parse(st.out) as { flags: string[] }[])[0]!.flags).toContain('compressed');
    const f = await runCli(['stat', '-f', '--json', fixturePath('ntfs/ntfs-dirty.qcow2')]);
    expect(JSON.parse(f.out)).toMatchObject({ type: 'ntfs', state: { clean: false, errors: true }, facts: { dirty: true } });
    expect((JSON.parse((await runCli(['stat', '-f', '--json', features])).out) as { facts: { hibernation: string } }).facts.hibernation).toBe('hibr');
    const fat = await runCli(['ls', '-l', fixturePath('fat/fat12.img'), '/Deep']);
    expect(fat.code).toBe(0);
    expect(fat.out).toMatch(/ MixedCase\.Name$/m);
  });

  it('a missing path exits 1; an unknown volume or an image with several filesystems exits 2', async () => {
    expect((await runCli(['cat', ext4, '/no/such'])).code).toBe(1);
    expect((await runCli(['ls', '--volume', 'p9', ext4])).code).toBe(2);
    const several = await runCli(['ls', fixturePath('volumes/gpt.qcow2')]);
    expect(several.code).toBe(2);
    expect(several.err).toMatch(/several volumes hold filesystems \(p1, p3, vg0\/root\)/);
    const lv = await runCli(['ls', '--volume', 'vg0/root', fixturePath('volumes/gpt.qcow2')]);
    expect(lv.out.trim()).toBe('lost+found');
  });
});

/** A .reg text as key → value name → [type, bytes as hex], for comparing exports whatever their style. */
function parseReg(text: string): Map<string, Map<string, [number, string]>> {
  const keys = new Map<string, Map<string, [number, string]>>();
  let current: Map<string, [number, string]> | undefined;
  const lines = text.replace(/\r/g, '').replace(/\\\n\s*/g, '').split('\n');
  for (const line of lines) {
    const k = /^\[(.*)\]$/.exec(line);
    if (k) {
      current = new Map();
      keys.set(k[1]!.replace(/\\$/, ''), current);
      continue;
    }
    const v = /^(@|"((?:[^"\\]|\\.)*)")=(.*)$/.exec(line);
    if (!v || !current) continue;
    const name = v[1] === '@' ? '' : v[2]!.replace(/\\(.)/g, '$1');
    const data = v[3]!;
    let entry: [number, string];
    if (data.startsWith('dword:')) {
      const dword = Buffer.alloc(4);
      dword.writeUInt32LE(Number.parseInt(data.slice(6), 16));
      entry = [4, dword.toString('hex')];
    }
    else if (data.startsWith('"')) entry = [1, Buffer.from(`${data.slice(1, -1).replace(/\\(.)/g, '$1')}\0`, 'utf16le').toString('hex')];
    else {
      const m = /^hex(?:\(([0-9a-f]+)\))?:(.*)$/.exec(data)!;
      entry = [m[1] === undefined ? 3 : Number.parseInt(m[1], 16), m[2]!.replace(/,/g, '')];
    }
    current.set(name, entry);
  }
  return keys;
}

describe('diskprobe reg', () => {
  const reg = (n: string) => fixturePath(`registry/${n}`);

  it('--export gives the keys, values, types and bytes hivexregedit exports', async () => {
    for (const n of ['system', 'values', 'bcd']) {
      const r = await runCli(['reg', '--export', reg(`${n}.hive`)]);
      expect(r.code, n).toBe(0);
      const ours = parseReg(r.out);
      // hivexregedit (Perl) prints names of characters below 256 as Latin-1 and wider ones as UTF-8, line by line.
      const raw = await readFile(reg(`${n}.hivexregedit.reg`));
      const text = raw
        .toString('latin1')
        .split('\n')
        .map((line) => {
          try {
            return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(line, 'latin1'));
          } catch {
            return line;
          }
        })
        .join('\n');
      const theirs = parseReg(text);
      expect([...ours.keys()].sort(), n).toEqual([...theirs.keys()].sort());
      for (const [key, values] of theirs) expect(Object.fromEntries(ours.get(key)!), `${n} ${key}`).toEqual(Object.fromEntries(values));
    }
  });

  it('a value as hivexget prints it; a key as reg query lists it; JSON; missing keys exit 1', async () => {
    const v = await runCli(['reg', reg('system.hive'), 'Select', 'Current']);
    expect([v.code, v.out]).toEqual([0, '1\n']);
    const q = await runCli(['reg', reg('system.hive'), 'select']);
    expect(q.out).toMatch(/^ROOT\\Select\n {4}Current {4}REG_DWORD {4}0x1$/m);
    const j = JSON.parse((await runCli(['reg', '--json', reg('system.hive'), 'Select'])).out) as { values: { name: string; data: number }[] };
    expect(j.values.find((x) => x.name === 'LastKnownGood')?.data).toBe(2);
    expect((await runCli(['reg', reg('system.hive'), 'No\\Such'])).code).toBe(1);
    expect((await runCli(['reg', reg('system.hive'), 'Select', 'Nothing'])).code).toBe(1);
  });

  it('a dirty hive file is replayed from the logs beside it, and says so', async () => {
    const facts = JSON.parse(await readFile(reg('dirty-new.facts.json'), 'utf8')) as { dirty: { expected: { keys: Record<string, { values: Record<string, { data?: string }> }> } } };
    const r = await runCli(['reg', '--json', reg('dirty-new.hive'), 'Software\\Vendor']);
    expect(r.err).toMatch(/replayed new-format log LOG1/);
    const out = JSON.parse(r.out) as { values: { name: string; bytes: string }[] };
    const want = facts.dirty.expected.keys['\\Software\\Vendor']!.values;
    expect(Object.fromEntries(out.values.map((x) => [x.name, x.bytes]))).toEqual(Object.fromEntries(Object.entries(want).map(([k, x]) => [k, x.data])));
  });

  it('in a disk image: SYSTEM, SOFTWARE (replayed from its log) and BCD found where Windows keeps them', async () => {
    const img = reg('windows-shaped.qcow2');
    expect((await runCli(['reg', img, 'HKLM\\SYSTEM\\Select', 'Current'])).out).toBe('1\n');
    const sw = await runCli(['reg', img, 'SOFTWARE\\Software\\Vendor']);
    expect(sw.code).toBe(0);
    expect(sw.err).toMatch(/replayed/);
    const bcd = await runCli(['reg', img, 'BCD\\Objects']);
    expect(bcd.out).toMatch(/\{9dea862c-5cdd-4e70-acc1-f32b344d4795\}/);
    expect((await runCli(['reg', img, 'NOTAHIVE\\x'])).code).toBe(2);
  });
});
