/**
 * Windows inspection against the guests fixtures/windows.sh assembles with hivex, mkntfs,
 * ntfs-3g, mtools, sfdisk and sgdisk, and the facts those tools and pefile recorded: the version
 * hivexget reads, the SYSTEM hive's state after its log (built separately, read by hivexget)
 * rather than its stale primary, the partitions sfdisk reads mapped from MountedDevices and the
 * BCD, the files ntfs-3g lists, each PE's machine and version as pefile reads them. Then the
 * PE reader on hostile input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, readPe, type Guest, type WindowsGuest } from '../../src/index.js';
import { openImage, type OpenedImage } from '../../src/node/image.js';
import { FIXTURES } from '../helpers/fixtures.js';

const DIR = join(FIXTURES, 'windows');
interface Facts {
  rawSha256: string;
  partitions: { label: string; id: string; partitions: { start: number; size: number; uuid?: string; type: string; bootable?: boolean }[] };
  files: Record<string, string>;
  pe: Record<string, { machine: number; magic: number; fileVersion: string; strings: Record<string, string> }>;
  hivexget: Record<string, Record<string, string | null>>;
  virtInspector: { arch: string; product_name: string; product_variant: string; major_version: string; minor_version: string; windows_systemroot: string; windows_current_control_set: string; hostname: string; drive_mappings: Record<string, string>; applications: { display_name: string; version: string; publisher: string }[] };
}
const facts = (n: string) => JSON.parse(readFileSync(join(DIR, `${n}.facts.json`), 'utf8')) as Facts;

function windows(g: Guest | undefined): WindowsGuest {
  if (g?.os !== 'windows') throw new Error(`expected a Windows guest, got ${g?.os ?? 'none'}`);
  return g;
}

const CV = '\\Microsoft\\Windows NT\\CurrentVersion';

describe('Windows inspection', () => {
  const opened: OpenedImage[] = [];
  const guests: Record<string, WindowsGuest> = {};
  beforeAll(async () => {
    for (const n of ['good', 'bad', 'legacy']) {
      const image = await openImage(join(DIR, `win-${n}.qcow2`));
      opened.push(image);
      const r = await inspect(image.disk);
      expect(r.guests.length, n).toBe(1);
      guests[n] = windows(r.guests[0]);
    }
  });
  afterAll(async () => {
    for (const i of opened) await i.close();
  });

  it('the version, edition and build hivexget reads; the architecture pefile reads in ntoskrnl.exe', () => {
    for (const n of ['good', 'bad', 'legacy']) {
      const g = guests[n]!;
      const f = facts(n);
      const sw = f.hivexget.SOFTWARE!;
      expect(g.identity.productName, n).toBe(sw[`${CV}\\ProductName`]);
      expect(g.identity.editionId, n).toBe(sw[`${CV}\\EditionID`]);
      expect(g.identity.installationType, n).toBe(sw[`${CV}\\InstallationType`]);
      // Windows 10 and later: CurrentMajor/MinorVersionNumber; before (2008 R2): CurrentVersion only.
      const major = sw[`${CV}\\CurrentMajorVersionNumber`];
      expect(g.identity.version, n).toBe(major !== null ? `${major}.${sw[`${CV}\\CurrentMinorVersionNumber`]}` : sw[`${CV}\\CurrentVersion`]);
      expect(String(g.identity.build), n).toBe(sw[`${CV}\\CurrentBuildNumber`]);
      expect(g.identity.ubr === undefined ? null : String(g.identity.ubr), n).toBe(sw[`${CV}\\UBR`]);
      const kernel = f.pe['/Windows/System32/ntoskrnl.exe']!;
      expect(g.arch, n).toBe(kernel.machine === 0x8664 ? 'x86_64' : kernel.machine === 0x14c ? 'i386' : '?');
      expect(g.archSource, n).toContain('ntoskrnl.exe');
      const host = Object.entries(f.hivexget['SYSTEM network']!).find(([k]) => k.endsWith('\\Tcpip\\Parameters\\NV Hostname'))![1];
      expect(g.hostname, n).toBe(host);
    }
    expect(guests.good!.identity.variant).toBe('server');
    expect(guests.bad!.identity.variant).toBe('client');
  });

  it('what virt-inspector (libguestfs) says of each guest: product, variant, version, arch, hostname, system root, control set, drive letters, applications', () => {
    for (const n of ['good', 'bad', 'legacy']) {
      const g = guests[n]!;
      const v = facts(n).virtInspector;
      expect(g.identity.productName, n).toBe(v.product_name);
      expect(g.identity.installationType, n).toBe(v.product_variant);
      expect(g.identity.version, n).toBe(`${v.major_version}.${v.minor_version}`);
      expect(g.arch, n).toBe(v.arch);
      expect(g.hostname, n).toBe(v.hostname);
      expect(g.systemRoot, n).toBe(v.windows_systemroot);
      expect(g.controlSet?.path, n).toBe(v.windows_current_control_set);
      // libguestfs names partitions /dev/sdaN; drives it cannot place it leaves out.
      const ours = Object.fromEntries(g.drives.filter((d) => d.volume).map((d) => [d.letter.slice(0, 1), `/dev/sda${d.volume!.slice(1)}`]));
      expect(ours, n).toEqual(v.drive_mappings);
      const apps = g.applications.map((a) => ({ display_name: a.name, version: a.version, publisher: a.publisher })).sort((a, b) => (a.display_name < b.display_name ? -1 : 1));
      expect(apps, n).toEqual(v.applications);
    }
  });

  it('a dirty SYSTEM is read after its log: the state hivexget reads in the hive the change was made to, not the primary', () => {
    const g = guests.bad!;
    const f = facts('bad').hivexget;
    const start = (h: string) => f[h]!['\\ControlSet001\\Services\\viostor\\Start'];
    expect(start('SYSTEM (primary file)')).not.toBe(start('SYSTEM (after its log)'));
    const viostor = g.services.find((s) => s.name === 'viostor')!;
    expect(String(viostor.start)).toBe(start('SYSTEM (after its log)'));
    const state = g.hives.find((h) => h.name === 'SYSTEM')!;
    expect(state).toMatchObject({ dirty: true, replay: { format: 'new', logs: ['LOG1'] } });
    expect(state.logs).toEqual(['/Windows/System32/config/SYSTEM.LOG1']);
    for (const h of guests.good!.hives) expect([h.name, h.present, h.dirty]).toEqual([h.name, true, false]);
  });

  it('drive letters and BCD devices map to the partitions sfdisk reads; a dangling entry says why', () => {
    const good = guests.good!;
    const gp = facts('good').partitions;
    expect(good.drives.find((d) => d.letter === 'C:')).toMatchObject({ kind: 'mbr', volume: 'p1', target: `disk ${gp.id}, offset ${gp.partitions[0]!.start * 512}` });
    expect(good.drives.find((d) => d.letter === 'E:')).toMatchObject({ kind: 'other' });
    expect(good.drives.find((d) => d.letter === 'E:')?.volume).toBeUndefined();
    expect(good.boot.modes).toEqual(['bios']);
    expect(good.boot.bootmgr).toEqual([{ volume: 'p1', path: '/bootmgr' }]);
    const def = good.boot.entries.find((e) => e.isDefault)!;
    expect(def).toMatchObject({ path: '\\Windows\\system32\\winload.exe', pathExists: true, device: { volume: 'p1' }, osDevice: { volume: 'p1' } });

    const bad = guests.bad!;
    const bp = facts('bad').partitions;
    const win = bp.partitions[2]!;
    expect(bad.drives.find((d) => d.letter === 'C:')).toMatchObject({ kind: 'gpt', volume: 'p3', target: `partition {${win.uuid!.toLowerCase()}}` });
    expect(bad.drives.find((d) => d.letter === 'D:')?.volume).toBeUndefined();
    expect(bad.boot.modes).toEqual(['uefi']);
    expect(bad.boot.bcd).toMatchObject({ volume: 'p1', path: '/EFI/Microsoft/Boot/BCD' });
    const [first, second] = bad.boot.entries;
    expect(first).toMatchObject({ isDefault: true, osDevice: { reason: 'no partition in the image has that GUID' } });
    expect(first!.osDevice!.volume).toBeUndefined();
    expect(second).toMatchObject({ isDefault: false, osDevice: { volume: 'p3' }, pathExists: true });
  });

  it('Windows 2008 R2 with a System Reserved partition: ControlSet002 in use, BCD on p1 booting p2, boot drivers bound in CriticalDeviceDatabase', () => {
    const g = guests.legacy!;
    const f = facts('legacy');
    expect(g.controlSet).toEqual({ number: 2, path: 'ControlSet002' });
    expect(g.root).toBe('p2');
    expect(g.drives).toEqual([{ letter: 'C:', kind: 'mbr', volume: 'p2', target: `disk ${f.partitions.id}, offset ${f.partitions.partitions[1]!.start * 512}` }]);
    expect(g.boot.bootmgr).toEqual([{ volume: 'p1', path: '/bootmgr' }]);
    expect(g.boot.bcd).toMatchObject({ volume: 'p1', path: '/Boot/BCD' });
    expect(g.boot.entries).toEqual([expect.objectContaining({ isDefault: true, path: '\\Windows\\system32\\winload.exe', pathExists: true, device: expect.objectContaining({ volume: 'p2' }), osDevice: expect.objectContaining({ volume: 'p2' }) })]);
    // ControlSet002's viostor starts at boot (hivexget: facts "after"); ControlSet001 (not in use) says 3.
    expect(String(g.services.find((s) => s.name === 'viostor')!.start)).toBe(f.hivexget['SYSTEM (after its log)']!['\\ControlSet002\\Services\\viostor\\Start']);
    const blk = g.bootCritical.find((c) => c.bus === 'virtio-blk')!;
    expect(blk).toMatchObject({ state: 'ready', binding: { key: 'HKLM\\SYSTEM\\ControlSet002\\Control\\CriticalDeviceDatabase\\pci#ven_1af4&dev_1001&subsys_00021af4&rev_00', names: ['viostor'] } });
    expect(g.bootCritical.find((c) => c.bus === 'nvme')!.reason).toMatch(/no stornvme or AWSNVMe service \(this Windows is older than the version that ships it\)/);
    expect(g.bootCritical.find((c) => c.bus === 'sata-ahci')).toMatchObject({ state: 'ready', service: 'msahci' });
    expect(g.identity.ubr).toBeUndefined();
  });

  it('services, applications, hotfixes, drivers and the driver store as the hives and ntfs-3g list them', () => {
    const g = guests.good!;
    const f = facts('good');
    const viostor = g.services.find((s) => s.name === 'viostor')!;
    expect(viostor).toMatchObject({ type: 1, start: 0, startName: 'boot', imagePath: 'System32\\drivers\\viostor.sys', file: '/Windows/System32/drivers/viostor.sys', key: 'HKLM\\SYSTEM\\ControlSet001\\Services\\viostor' });
    const cbi = g.services.find((s) => s.name === 'cloudbase-init')!;
    expect(cbi.file).toBe('/Program Files/Cloudbase Solutions/Cloudbase-Init/bin/OpenStackService.exe');
    expect(g.applications.map((a) => [a.name, a.bits]).sort()).toEqual([['Cloudbase-Init 1.1.4', 64], ['Notepad++ (32-bit x86)', 32], ['Virtio-win-driver-installer', 64]]);
    expect(g.hotfixes).toEqual(['KB4474419', 'KB5005568']);
    const driverFiles = Object.keys(f.files).filter((p) => p.startsWith('/Windows/System32/drivers/')).map((p) => p.split('/').pop()!.toLowerCase());
    expect([...g.drivers.files].sort()).toEqual(driverFiles.sort());
    const store = new Set(Object.keys(f.files).filter((p) => p.includes('/FileRepository/')).map((p) => p.split('/')[5]!.toLowerCase()));
    for (const s of store) expect(g.drivers.driverStore).toContain(s);
    // The driver database's packages, as windows-content.py wrote them through hivex.
    expect(g.drivers.packages).toContain('viostor.inf_amd64_4a7b1c0e2f9d3b15');
    expect(guests.bad!.drivers.packages).not.toContain('vioscsi.inf_amd64_8c2e5f1a7b3d9e04');
  });

  it('version resources of the key drivers as pefile reads them', () => {
    for (const n of ['good', 'bad', 'legacy']) {
      const g = guests[n]!;
      const f = facts(n);
      expect(g.fileVersions.length, n).toBeGreaterThan(3);
      for (const fv of g.fileVersions) {
        const want = f.pe[fv.path]!;
        expect(want, fv.path).toBeDefined();
        expect(fv.version?.fileVersion, fv.path).toBe(want.fileVersion);
        expect(fv.version?.strings, fv.path).toEqual(want.strings);
      }
    }
  });

  it('the boot-critical driver analysis: which controllers each guest can boot from, and why not', () => {
    const state = (g: WindowsGuest) => Object.fromEntries(g.bootCritical.map((c) => [c.bus, c.state]));
    expect(state(guests.good!)).toEqual({ 'virtio-blk': 'ready', 'virtio-scsi': 'ready', nvme: 'ready', 'sata-ahci': 'ready', ide: 'ready' });
    expect(state(guests.bad!)).toEqual({ 'virtio-blk': 'not-ready', 'virtio-scsi': 'not-ready', nvme: 'not-ready', 'sata-ahci': 'ready', ide: 'ready' });
    const blk = guests.bad!.bootCritical.find((c) => c.bus === 'virtio-blk')!;
    expect(blk.reason).toMatch(/viostor is installed but starts manual \(Start=3\).*0x7B INACCESSIBLE_BOOT_DEVICE/);
    expect(blk.evidence).toContainEqual({ key: 'HKLM\\SYSTEM\\ControlSet001\\Services\\viostor', value: 'Start', data: '3' });
    const good = guests.good!.bootCritical.find((c) => c.bus === 'virtio-blk')!;
    expect(good.binding).toEqual({ key: 'HKLM\\SYSTEM\\DriverDatabase\\DeviceIds\\PCI\\VEN_1AF4&DEV_1001', names: ['viostor.inf'] });
  });
});

describe('PE reader', () => {
  it('every PE of the fixtures: machine, magic and version resource as pefile reads them', async () => {
    for (const n of ['good', 'bad', 'legacy']) {
      const image = await openImage(join(DIR, `win-${n}.qcow2`));
      try {
        const g = windows((await inspect(image.disk)).guests[0]);
        for (const [path, want] of Object.entries(facts(n).pe)) {
          const pe = readPe(await g.fs.readFile(path))!;
          expect([pe.machine, pe.magic, pe.version?.fileVersion, pe.version?.strings], path).toEqual([want.machine, want.magic, want.fileVersion, want.strings]);
        }
      } finally {
        await image.close();
      }
    }
  });

  it('not PE, truncated or with tables pointing anywhere: undefined fields, never an exception', async () => {
    const image = await openImage(join(DIR, 'win-good.qcow2'));
    let good: Uint8Array;
    try {
      good = await windows((await inspect(image.disk)).guests[0]).fs.readFile('/Windows/System32/drivers/viostor.sys');
    } finally {
      await image.close();
    }
    expect(readPe(new Uint8Array(0))).toBeUndefined();
    expect(readPe(new TextEncoder().encode('MZ but nothing else'))).toBeUndefined();
    for (let cut = 0; cut < good.length; cut += 37) readPe(good.subarray(0, cut));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }), (edits) => {
        const b = good.slice();
        for (const [at, v] of edits) b[at] = v;
        const t = performance.now();
        const pe = readPe(b);
        expect(performance.now() - t).toBeLessThan(100);
        if (pe?.version) expect(typeof pe.version.fileVersion).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
