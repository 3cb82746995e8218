/**
 * Inspection of the fixture guests (fixtures/guests.sh) against what the real tools said of
 * them: blkid for which volume each fstab line names, sfdisk for partition UUIDs, sh itself for
 * os-release, readelf for the architecture, sha256sum for files placed on separate mounts.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DiskProbeError, inspect, listInitramfs, readRpmSqlite, type Guest, type LinuxGuest } from '../../src/index.js';
import { openImage } from '../../src/node/index.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

/** The guest, which must be a Linux one. */
function linux(g: Guest | undefined): LinuxGuest {
  if (g?.os !== 'linux') throw new Error(`expected a Linux guest, got ${g?.os ?? 'none'}`);
  return g;
}

const GUESTS = join(FIXTURES, 'guests');
const names = readdirSync(GUESTS)
  .filter((f) => f.endsWith('.facts.json'))
  .map((f) => f.slice(0, -'.facts.json'.length));
const factsOf = (name: string): Record<string, any> => JSON.parse(readFileSync(join(GUESTS, `${name}.facts.json`), 'utf8'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** readelf's Machine and Class, in the names libguestfs uses. */
function archOf(readelf: Record<string, string>): string {
  const names: Record<string, string> = { 'Advanced Micro Devices X86-64': 'x86_64', 'Intel 80386': 'i386', AArch64: 'aarch64', ARM: 'arm' };
  const arch = names[readelf.Machine!];
  if (!arch) throw new Error(`no name for readelf's machine "${readelf.Machine}"`);
  return arch;
}

/** The volume an expected fstab line names, by the tools' facts. */
function volumeFor(f: Record<string, any>, want: Record<string, string>): string {
  if (want.volume) return want.volume;
  const blkid = f.blkid as Record<string, Record<string, string>>;
  if (want.uuid) return Object.entries(blkid).find(([, b]) => b.UUID?.toLowerCase() === want.uuid!.toLowerCase())![0];
  if (want.label) return Object.entries(blkid).find(([, b]) => b.LABEL === want.label)![0];
  if (want.partuuid) {
    const part = f.sfdisk.partitiontable.partitions.find((p: { uuid?: string }) => p.uuid?.toLowerCase() === want.partuuid);
    return `p${/(\d+)$/.exec(part.node)![1]}`;
  }
  throw new Error(`fixture line ${want.line} names no volume`);
}

describe.each(names)('guest fixture %s', (name) => {
  const f = factsOf(name);
  const expected = f.expected.guests as Record<string, any>[];

  it('inspects to what the tools recorded', async () => {
    const image = await openImage(join(GUESTS, `${name}.qcow2`));
    try {
      const { guests, findings } = await inspect(image.disk);
      expect(guests.map((g) => g.root)).toEqual(expected.map((e) => e.root));
      if (expected.length > 1) expect(findings.map((x) => x.code)).toContain('guest.multiple-roots');
      for (const [k, want] of expected.entries()) {
        const g = linux(guests[k]);
        expect(g.identity.distro).toBe(want.distro);
        if (want.version) expect(g.identity.version).toBe(want.version);
        if (want.codename) expect(g.identity.codename).toBe(want.codename);
        expect(g.hostname).toBe(want.hostname);
        expect(g.arch).toBe(archOf(f.readelf));
        // os-release as sh reads it.
        if (f.osRelease && g.identity.source?.endsWith('os-release')) {
          expect(g.identity.distro).toBe(f.osRelease.ID);
          expect(g.identity.name).toBe(f.osRelease.NAME);
          expect(g.identity.product).toBe(f.osRelease.PRETTY_NAME);
          expect(g.identity.version?.startsWith(f.osRelease.VERSION_ID)).toBe(true);
          expect(g.identity.codename).toBe(f.osRelease.VERSION_CODENAME);
        }
        for (const line of want.fstab as Record<string, any>[]) {
          const mount = g.mounts.find((m) => m.line === line.line);
          expect(mount, `fstab line ${line.line}`).toBeDefined();
          expect(mount!.status, `fstab line ${line.line}: ${mount!.reason ?? ''}`).toBe(line.status);
          if (line.status === 'mounted' || line.status === 'unsupported') expect(mount!.volume).toBe(volumeFor(f, line));
        }
        for (const u of (want.units ?? []) as Record<string, string>[]) {
          const mount = g.mounts.find((m) => m.unit === u.unit);
          expect(mount, u.unit).toBeDefined();
          expect(mount!.mountpoint).toBe(u.mountpoint);
          expect(mount!.status, `${u.unit}: ${mount!.reason ?? ''}`).toBe(u.status);
          if (u.volume) expect(mount!.volume).toBe(u.volume);
        }
        expect(g.mounts.length).toBe(want.fstab.length + (want.units?.length ?? 0));
        for (const n of want.unparsedLines ?? []) expect(g.findings.some((x) => x.code === 'guest.fstab-line' && x.message.includes(`line ${n} `))).toBe(true);
        for (const p of want.danglingLinks ?? []) expect(g.findings.some((x) => x.code === 'guest.dangling-link' && x.message.startsWith(p))).toBe(true);
        expect(g.crypttab.map((c) => c.name)).toEqual(want.crypttab ?? []);
        // Kernels: versions as `file` reads them from the bzImage headers.
        if (want.kernels) expect(g.kernels.map((x) => x.version)).toEqual(want.kernels);
        for (const kernel of g.kernels) {
          const fileSays = f.file?.[kernel.path] as string | undefined;
          expect(fileSays, kernel.path).toBeDefined();
          expect(/version (\S+)/.exec(fileSays!)![1]).toBe(kernel.version);
          expect(kernel.versionFrom).toBe('header');
        }
        if (want.loader) expect(g.boot.loader).toBe(want.loader);
        if (want.defaultKernel) expect(g.boot.defaultKernel?.version).toBe(want.defaultKernel);
        if (want.cmdline) expect(g.boot.cmdline).toBe(want.cmdline);
        if (f.grubEditenvList) expect(Object.entries(g.boot.env ?? {}).map(([key, v]) => `${key}=${v}`)).toEqual(f.grubEditenvList.filter(Boolean));
        if (f.grubScriptCheck !== undefined) expect(f.grubScriptCheck).toBe('ok');
        if (want.unknownGrubCommand) expect(g.findings.some((x) => x.code === 'guest.boot-config' && x.message.includes(want.unknownGrubCommand))).toBe(true);
        for (const [svc, state] of Object.entries(want.services ?? {})) {
          const got = g.services.find((x) => x.name === svc)?.state ?? 'absent';
          expect(got, svc).toBe(state);
        }
        if (want.config) expect(g.config).toMatchObject(want.config);
        // Packages: dpkg as dpkg-query lists them; the others as the script wrote them.
        if (f.dpkgQuery && k === 0) {
          const dpkg = g.packages.find((d) => d.kind === 'dpkg');
          const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
          expect([...(dpkg?.packages ?? [])].sort(byName)).toEqual([...f.dpkgQuery].sort(byName));
        }
        if (f.rpmQa && k === 0) {
          const rpm = g.packages.find((d) => d.kind === 'rpm');
          expect(rpm).toMatchObject({ path: '/var/lib/rpm/rpmdb.sqlite', format: 'sqlite' });
          const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
          expect([...(rpm?.packages ?? [])].sort(byName)).toEqual([...f.rpmQa].sort(byName));
        }
        if (want.packages) expect(g.packages).toEqual(want.packages);
        if (want.availableModules) expect(g.availableModules).toEqual(want.availableModules);
        if (want.kernelConfig) expect(g.kernelConfig).toEqual(want.kernelConfig);
        if (want.initramfs) {
          // An initramfs cut in the middle: a finding, and the rest of the guest complete.
          const again = await inspect(image.disk, { initramfs: true });
          const gi = linux(again.guests[k]);
          expect(gi.initramfs).toMatchObject({ path: want.initramfs.path, complete: want.initramfs.complete });
          expect(gi.findings.map((x) => x.code)).toContain(want.initramfs.finding);
          expect(gi.boot.defaultKernel?.version).toBe(want.defaultKernel);
        }
        // Network: as written; ifcfg values as sh reads the file.
        if (want.network) expect(g.network).toEqual(want.network);
        if (f.ifcfgSh) {
          const eth0 = g.network.interfaces.find((i) => i.tool === 'ifcfg')!;
          expect(eth0.addresses[0]).toBe(`${f.ifcfgSh.IPADDR}/${f.ifcfgSh.PREFIX}`);
          expect(eth0.gateway).toBe(f.ifcfgSh.GATEWAY);
          expect(eth0.mac).toBe(f.ifcfgSh.HWADDR.toLowerCase());
        }
        // sshd_config as OpenSSH's sshd -T reads it.
        if (f.sshdT) for (const [key, value] of Object.entries(f.sshdT as Record<string, string>)) expect(g.config.sshd?.[key as 'port'], key).toBe(value);
        // Files through the guest's view, across its mounts.
        if (k === 0) for (const [path, sha] of Object.entries(f.files ?? {})) expect(sha256(await g.fs.readFile(path)), path).toBe(sha);
      }
    } finally {
      await image.close();
    }
  });
});

describe('initramfs through the guest view', () => {
  it('lists what cpio lists, and inspection with initramfs names the default kernel\'s modules', async () => {
    const f = factsOf('debian');
    const image = await openImage(join(GUESTS, 'debian.qcow2'));
    try {
      const { guests } = await inspect(image.disk, { initramfs: true });
      const g = linux(guests[0]);
      for (const [path, names] of Object.entries(f.cpioList as Record<string, string[]>)) {
        const listing = await listInitramfs(g.fs, path);
        expect(listing.complete).toBe(true);
        expect(listing.entries.map((e) => e.name).sort()).toEqual([...names].sort());
      }
      expect(g.initramfs).toMatchObject({ path: '/boot/initrd.img-5.10.0-9-amd64', kernel: '5.10.0-9-amd64', complete: true, compression: ['gzip'], modules: ['virtio_blk', 'virtio_net'] });
      expect(g.builtinModules).toEqual(['virtio', 'virtio_pci']);
      // Without the option, the initramfs is not read.
      const plain = await inspect(image.disk);
      expect(linux(plain.guests[0]).initramfs).toBeUndefined();
    } finally {
      await image.close();
    }
  });
});

describe('rpm database on damaged bytes', () => {
  it('gives packages or a DiskProbeError, never another error, whatever bytes are changed', async () => {
    const image = await openImage(join(GUESTS, 'rhel.qcow2'));
    try {
      const { guests } = await inspect(image.disk);
      const db = await guests[0]!.fs.readFile('/var/lib/rpm/rpmdb.sqlite');
      expect(readRpmSqlite(db).length).toBe(factsOf('rhel').rpmQa.length);
      // Every page's cell count set to 65535: cells then claim far more payload than the file
      // holds (this once copied the same overflow pages into gigabytes of rows).
      const pageSize = (db[16]! << 8) | db[17]!;
      for (let page = 0; page * pageSize < db.length; page++) {
        const b = db.slice();
        const header = page * pageSize + (page === 0 ? 100 : 0);
        b[header + 3] = 0xff;
        b[header + 4] = 0xff;
        const t = performance.now();
        try {
          readRpmSqlite(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DiskProbeError);
        }
        expect(performance.now() - t).toBeLessThan(1000);
      }
      await fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(db.length - 1), fc.nat(255)), { minLength: 1, maxLength: 16 }), fc.boolean(), (flips, headerOnly) => {
          const b = db.slice();
          // Half the runs hit the first two pages, where the header, schema and table roots are.
          for (const [at, v] of flips) b[headerOnly ? at % 8192 : at] = v;
          try {
            readRpmSqlite(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DiskProbeError);
          }
        }),
        { numRuns: 300 },
      );
    } finally {
      await image.close();
    }
  });
});

describe('the CLI on guests', () => {
  it('inspect --json gives the guests without their live views', async () => {
    const r = await runCli(['inspect', '--json', join(GUESTS, 'debian.qcow2')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { guests: Record<string, any>[] };
    expect(out.guests).toHaveLength(1);
    expect(out.guests[0]!.identity.distro).toBe('debian');
    expect(out.guests[0]!.fs).toBeUndefined();
    expect(out.guests[0]!.mounted.map((m: { path: string; volume: string }) => `${m.path}=${m.volume}`)).toEqual(['/=p3', '/boot=p2', '/boot/efi=p1']);
  });

  it('cat and ls without --volume use the guest view; several guests ask for --volume', async () => {
    const f = factsOf('rhel');
    const cat = await runCli(['cat', join(GUESTS, 'rhel.qcow2'), '/home/alice/note.txt']);
    expect(cat.code).toBe(0);
    expect(sha256(cat.bytes)).toBe(f.files['/home/alice/note.txt']);
    // The same volume through a .mount unit's mount point.
    const viaUnit = await runCli(['cat', join(GUESTS, 'rhel.qcow2'), '/srv/data/alice/note.txt']);
    expect(sha256(viaUnit.bytes)).toBe(f.files['/home/alice/note.txt']);
    const ls = await runCli(['ls', join(GUESTS, 'rhel.qcow2'), '/boot/grub2']);
    expect(ls.out.trim().split('\n')).toEqual(['grub.cfg', 'grubenv']);
    const dual = await runCli(['ls', join(GUESTS, 'dual.qcow2'), '/']);
    expect(dual.code).toBe(2);
    expect(dual.err).toMatch(/several operating systems/);
  });

  it('inspect says so when there is no operating system', async () => {
    const r = await runCli(['inspect', join(FIXTURES, 'volumes', 'mbr.qcow2')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no operating system found/);
  });
});
