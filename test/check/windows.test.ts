/**
 * The Windows items on the guests fixtures/windows.sh assembles, against the verdicts written by
 * hand in fixtures/windows.expected.json: every item of every profile that checks it, each with
 * evidence, registry evidence naming the key. Then the rules on hives not built for them (the
 * registry fixtures, shaped differently) and on guests with hives missing: ERROR or SKIPPED with
 * a reason, never an exception or an OK without evidence.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { check, PROFILES, type CheckReport } from '../../src/check/index.js';
import { RULES } from '../../src/check/rules/index.js';
import { memoiser, type CheckContext } from '../../src/check/context.js';
import { runItem } from '../../src/check/engine.js';
import { openHive, type WindowsGuest } from '../../src/index.js';
import { openImage } from '../../src/node/image.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

type Expect = { all: string; profiles?: Record<string, string>; why: string };
const expected = JSON.parse(readFileSync(join(FIXTURES, 'windows.expected.json'), 'utf8')) as Record<string, Record<string, Expect> | string>;
const IMAGES = ['win-good.qcow2', 'win-legacy.qcow2', 'win-bad.qcow2'];

async function run(name: string): Promise<CheckReport> {
  const image = await openImage(join(FIXTURES, 'windows', name));
  try {
    return await check(image.disk, { profile: 'all', digestSkipped: 'test' });
  } finally {
    await image.close();
  }
}

describe('Windows checks on the fixtures', () => {
  const reports: Record<string, CheckReport> = {};
  beforeAll(async () => {
    for (const n of IMAGES) reports[n] = await run(n);
  });

  it('every expected item reaches its hand-written verdict in every profile that checks it', () => {
    for (const n of IMAGES) {
      const want = expected[n] as Record<string, Expect>;
      for (const [id, e] of Object.entries(want)) {
        const profiles = Object.values(PROFILES).filter((p) => p.items.includes(id));
        expect(profiles.length, `${id} is in some profile`).toBeGreaterThan(0);
        for (const p of profiles) {
          const item = reports[n]!.profiles.find((x) => x.profile === p.name)!.check_items.find((i) => i.id === id)!;
          expect(`${n} ${p.name} ${id}: ${item.result}`, item.description).toBe(`${n} ${p.name} ${id}: ${e.profiles?.[p.name] ?? e.all}`);
        }
      }
    }
  });

  it('every Windows item of every profile is decided with evidence; registry evidence names HKLM keys', () => {
    for (const n of IMAGES) {
      for (const p of reports[n]!.profiles) {
        for (const i of p.check_items.filter((x) => x.id.startsWith('windows.'))) {
          expect(['OK', 'WARNING', 'FAILED', 'SKIPPED'], `${n} ${p.profile} ${i.id}: ${i.description}`).toContain(i.result);
          if (i.result !== 'SKIPPED') expect(i.evidence.length, `${n} ${i.id}`).toBeGreaterThan(0);
          for (const e of i.evidence) if (e.source.startsWith('HKLM')) expect(e.source).toMatch(/^HKLM\\(SYSTEM|SOFTWARE)(\\|$)/);
        }
        // Every Windows item the catalogue names is in the expectations of this fixture.
        for (const i of p.check_items.filter((x) => x.id.startsWith('windows.'))) expect(Object.keys(expected[n] as object), i.id).toContain(i.id);
      }
    }
  });

  it('the replayed SYSTEM decides virtio: the evidence is the Start the log wrote', () => {
    const item = reports['win-bad.qcow2']!.profiles.find((p) => p.profile === 'alibaba')!.check_items.find((i) => i.id === 'windows.virtio')!;
    expect(item.evidence).toContainEqual({ source: 'HKLM\\SYSTEM\\ControlSet001\\Services\\viostor', value: 'Start = 3' });
    expect(item.comment).toMatch(/0x7B/);
  });

  it('the report names the Windows guest: platform, version, architecture, osType', () => {
    const r = reports['win-good.qcow2']!;
    expect(r.guest).toMatchObject({ distro: 'windows', product: 'Windows Server 2019 Datacenter', arch: 'x86_64', bootLoader: 'bootmgr', version: '10.0.17763' });
    expect([r.os_big_version, r.os_small_version, r.architecture]).toEqual(['10', '0', 'x86_64']);
    expect(r.profiles[0]!.import_parameters).toMatchObject({ osType: 'windows', platform: 'Windows Server 2019', architecture: 'x86_64', bootMode: 'BIOS' });
    expect(r.filesystems.map((f) => [f.mount, f.volume, f.type])).toEqual([['C:', 'p1', 'ntfs']]);
    // Linux items say why they do not apply.
    const linux = r.profiles[0]!.check_items.find((i) => i.id === 'linux.os')!;
    expect([linux.result, linux.description]).toEqual(['SKIPPED', 'a Windows guest (p1: Windows Server 2019 Datacenter), not Linux']);
  });

  it('diskprobe check and inspect on a Windows image', async () => {
    const c = await runCli(['check', '--profile', 'didi', '--no-md5', '--quiet', join(FIXTURES, 'windows/win-bad.qcow2')]);
    expect(c.code).toBe(1);
    expect(c.out).toMatch(/Current system: Windows 10 10\.0\.19045 \(Windows 10 Pro\)/);
    const i = await runCli(['inspect', join(FIXTURES, 'windows/win-bad.qcow2')]);
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/^Windows 10 Pro on p3$/m);
    expect(i.out).toMatch(/hive {7}SYSTEM: dirty, replayed from LOG1 \(new format\)/);
    expect(i.out).toMatch(/boot disk {2}virtio-blk: not-ready — viostor is installed but starts manual/);
    const j = JSON.parse((await runCli(['inspect', '--json', join(FIXTURES, 'windows/win-good.qcow2')])).out) as { guests: { os: string; identity: { build: number }; registry?: unknown; hivesOpened: string[] }[] };
    expect(j.guests[0]).toMatchObject({ os: 'windows', identity: { build: 17763 }, hivesOpened: ['SYSTEM', 'SOFTWARE', 'SAM', 'SECURITY', 'DEFAULT'] });
    expect(j.guests[0]!.registry).toBeUndefined();
  });
});

describe('Windows rules on hives they were not built for', () => {
  const file = (n: string) => new Uint8Array(readFileSync(join(FIXTURES, 'registry', n)));

  /** A Windows guest made of the given hives (the rest missing), on no real volume. */
  async function guest(hives: { SYSTEM?: string; SOFTWARE?: string }): Promise<CheckContext> {
    const registry: WindowsGuest['registry'] = {};
    if (hives.SYSTEM) registry.SYSTEM = await openHive(file(hives.SYSTEM));
    if (hives.SOFTWARE) registry.SOFTWARE = await openHive(file(hives.SOFTWARE));
    const cs = registry.SYSTEM?.key('Select')?.value('Current')?.data;
    const fsError = async (): Promise<never> => {
      const { DiskProbeError, ErrorCode } = await import('../../src/errors.js');
      throw new DiskProbeError(ErrorCode.NOT_FOUND, 'no such file', { layer: 'fs' });
    };
    const fs = { type: 'ntfs', stat: fsError, lstat: fsError, readFile: fsError, readdir: fsError, statfs: fsError } as unknown as WindowsGuest['fs'];
    const g: WindowsGuest = {
      os: 'windows', root: 'p1', systemRoot: '/Windows', identity: {}, hives: (['SYSTEM', 'SOFTWARE', 'SAM', 'SECURITY', 'DEFAULT'] as const).map((name) => ({ name, path: `/Windows/System32/config/${name}`, present: !!registry[name as 'SYSTEM'], logs: [], findings: [] })),
      drives: [], boot: { modes: [], bootmgr: [], entries: [] }, services: [], applications: [], drivers: { files: [], driverStore: [], packages: [] }, hotfixes: [], fileVersions: [], bootCritical: [], findings: [], fs, registry,
    };
    if (typeof cs === 'number') g.controlSet = { number: cs, path: `ControlSet${String(cs).padStart(3, '0')}` };
    return { image: { label: 'x', format: 'raw', files: [], fileSize: 0, findings: [] }, memo: memoiser(), windows: g, layout: { disks: [], volumes: [], volumeGroups: [], findings: [] } };
  }

  const windowsIds = RULES.filter((r) => r.scope === 'windows').map((r) => r.id);

  it('a SYSTEM hive of another shape (registry/system.hive), no SOFTWARE: every rule answers, none OK without evidence', async () => {
    for (const hives of [{ SYSTEM: 'system.hive' }, { SOFTWARE: 'values.hive' }, {}, { SYSTEM: 'values.hive', SOFTWARE: 'subkeys.hive' }]) {
      const ctx = await guest(hives);
      for (const p of Object.values(PROFILES)) {
        for (const id of windowsIds) {
          const o = await runItem(ctx, p, id);
          expect(['OK', 'WARNING', 'FAILED', 'ERROR', 'SKIPPED'], `${JSON.stringify(hives)} ${id}`).toContain(o.verdict);
          expect(o.description, id).not.toMatch(/TypeError|undefined|defect/);
          if (o.verdict !== 'SKIPPED' && o.verdict !== 'ERROR') expect(o.evidence.length, `${id} ${o.verdict}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('a BCD device of a kind not resolved here (ramdisk, locate) is an ERROR, not a FAILED', async () => {
    const ctx = await guest({ SYSTEM: 'system.hive' });
    const dev = { description: 'device of kind type 3', device: { kind: 'type 3' }, reason: 'not a partition this version resolves' };
    ctx.windows!.boot = { modes: ['bios'], bootmgr: [], bcd: { volume: 'p1', path: '/Boot/BCD', store: { objects: [], displayOrder: [] } }, entries: [{ id: '{x}', isDefault: true, path: '\\Windows\\system32\\winload.exe', device: dev, osDevice: dev }] };
    const o = await runItem(ctx, PROFILES.alibaba!, 'windows.bcd');
    expect(o.verdict).toBe('ERROR');
    expect(o.description).toMatch(/does not resolve to a volume/);
    // A partition that is not on the disk is FAILED.
    const gone = { description: 'partition {x} of GPT disk {y}', device: { kind: 'partition' }, reason: 'no partition in the image has that GUID' };
    ctx.windows!.boot.entries = [{ id: '{x}', isDefault: true, path: '\\Windows\\system32\\winload.efi', device: gone, osDevice: gone }];
    expect((await runItem(ctx, PROFILES.alibaba!, 'windows.bcd')).verdict).toBe('FAILED');
  });

  it('a missing hive is an ERROR that names it', async () => {
    const ctx = await guest({ SYSTEM: 'system.hive' });
    const o = await runItem(ctx, PROFILES.alibaba!, 'windows.sysprep');
    expect(o).toMatchObject({ verdict: 'ERROR', description: 'the SOFTWARE hive is missing' });
    const none = await guest({});
    expect(await runItem(none, PROFILES.alibaba!, 'windows.virtio')).toMatchObject({ verdict: 'ERROR', description: 'the SYSTEM hive is missing' });
  });

  it('values of other types than expected: a DWORD as REG_SZ, a QWORD where a DWORD is usual', async () => {
    // registry/system.hive (shaped like a real SYSTEM, from fixtures/registry.sh): Start as DWORD,
    // RealTimeIsUniversal as DWORD 1, fDenyTSConnections 0 in ControlSet001.
    const ctx = await guest({ SYSTEM: 'system.hive' });
    expect(await runItem(ctx, PROFILES.aws!, 'windows.rtc')).toMatchObject({ verdict: 'OK' });
    expect(await runItem(ctx, PROFILES.didi!, 'windows.rdp')).toMatchObject({ verdict: 'OK' });
    const { numberOf } = await import('../../src/guest/windows/values.js');
    const v = (data: unknown) => ({ name: 'x', type: 0, typeName: '', bytes: new Uint8Array(0), data }) as Parameters<typeof numberOf>[0];
    expect([numberOf(v('0')), numberOf(v(' 3 ')), numberOf(v(1n)), numberOf(v('0x10')), numberOf(v('yes')), numberOf(v(new Uint8Array(4)))]).toEqual([0, 3, 1, 16, undefined, undefined]);
  });
});
