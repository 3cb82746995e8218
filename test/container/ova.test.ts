/**
 * OVA packages (fixtures/ova.sh): members where `tar -tvR` puts them, the OVF values the script
 * wrote, manifests checked against sha256sum's and sha1sum's digests, and each disk read in
 * place — through every device kind — to the bytes qemu-img converts the extracted VMDK to.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { diskMember, openOva, openOvaDisk, parseOvf, verifyManifest } from '../../src/container/ova/index.js';
import { DiskProbeError, openDisk, readChunks, type BlockDevice } from '../../src/index.js';
import { nodeHasher } from '../../src/node/hasher.js';
import { DEVICE_KINDS, stopFixtureServer } from '../helpers/devices.js';
import { runCli } from '../helpers/cli.js';

const DIR = join(__dirname, '../../fixtures/ova');
type Member = { name: string; headerBlock: number; size: number; sha256: string; rawSha256?: string; qemuImgInfo?: { 'virtual-size': number } };
type Facts = { file: string; members: Member[]; manifest: string; expected: Record<string, any> };
const facts = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.facts.json`), 'utf8')) as Facts;

async function sha256(dev: BlockDevice): Promise<string> {
  const h = createHash('sha256');
  for await (const c of readChunks(dev, { chunkSize: 1 << 20 })) h.update(c);
  return h.digest('hex');
}

afterAll(() => stopFixtureServer());

describe('OVA packages', () => {
  for (const name of ['vm', 'vm-gnu']) {
    for (const kind of DEVICE_KINDS) {
      it(`${name}.ova through the ${kind.name} device: members in place, disks read without extracting`, async () => {
        const f = facts(name);
        const dev = await kind.open(join(DIR, `${name}.ova`));
        try {
          const ova = await openOva(dev);
          expect(ova.members.map((m) => [m.name, m.size])).toEqual(f.members.map((m) => [m.name, m.size]));
          for (const m of ova.members) {
            const want = f.members.find((x) => x.name === m.name)!;
            expect(createHash('sha256').update(await dev.read(m.offset, m.size)).digest('hex'), m.name).toBe(want.sha256);
            // ustar: the data follows the header tar -tvR names (GNU long names put a header before it).
            if (name === 'vm') expect(m.header).toBe(want.headerBlock * 512);
          }
          const disks = f.members.filter((m) => m.rawSha256);
          for (const [i, want] of disks.entries()) {
            const disk = await openOvaDisk(ova, i, {}, openDisk);
            expect(disk.format).toBe('vmdk');
            expect(disk.size).toBe(want.qemuImgInfo!['virtual-size']);
            expect(await sha256(disk)).toBe(want.rawSha256);
          }
          // vm-gnu's OVF still references vm-disk2.vmdk, which its tar does not hold (tar -tvR).
          const missing = ova.ovf.files.filter((x) => !f.members.some((m) => m.name === x.href)).map((x) => x.href);
          expect(ova.findings.filter((x) => x.code === 'ova.file-missing').map((x) => x.message)).toEqual(missing.map((m) => expect.stringContaining(m)));
          expect(ova.findings.filter((x) => x.code !== 'ova.file-missing')).toEqual([]);
          if (name === 'vm-gnu') expect(missing).toEqual(['vm-disk2.vmdk']);
        } finally {
          await dev.close?.();
        }
      });
    }
  }

  it('reads the OVF values the script wrote', async () => {
    const f = facts('vm');
    const e = f.expected;
    const dev = await DEVICE_KINDS[0]!.open(join(DIR, 'vm.ova'));
    const ova = await openOva(dev);
    const s = ova.ovf.systems[0]!;
    expect(s.name).toBe(e.systemName);
    expect(s.id).toBe(e.systemName);
    expect(s.os).toEqual({ id: e.osId, osType: e.osType, description: e.osDescription });
    expect(s.systemType).toBe(e.systemType);
    expect(s.firmware).toBe(e.firmware);
    expect(s.cpus).toBe(e.cpus);
    expect(s.memoryMiB).toBe(e.memoryMiB);
    expect(s.controllers).toEqual(e.controllers);
    expect(s.nics).toEqual(e.nics);
    expect(s.drives.map((d) => [d.hostResource, d.parent])).toEqual([
      ['ovf:/disk/vmdisk1', '3'],
      ['ovf:/disk/vmdisk2', '4'],
    ]);
    expect(ova.ovf.disks.map((d) => ({ diskId: d.diskId, capacity: d.capacity }))).toEqual(e.disks);
    expect(diskMember(ova, 'vmdisk2').member.name).toBe('vm-disk2.vmdk');
  });

  it('checks SHA256 and SHA1 manifests, and names the file whose digest does not match', async () => {
    for (const [name, bad] of [
      ['vm', []],
      ['vm-sha1', []],
      ['vm-badmf', ['vm-disk1.vmdk']],
    ] as const) {
      const dev = await DEVICE_KINDS[0]!.open(join(DIR, `${name}.ova`));
      const ova = await openOva(dev);
      expect(ova.manifest?.entries.length).toBe(3);
      let last = 0;
      const results = await verifyManifest(ova, nodeHasher, { onProgress: (done) => (last = done) });
      expect(results.filter((r) => !r.ok).map((r) => r.file)).toEqual(bad);
      expect(last).toBe(ova.members.filter((m) => m.name !== 'vm.mf').reduce((n, m) => n + m.size, 0));
      // The digests that did match are sha256sum's or sha1sum's (the manifest's own text).
      for (const r of results.filter((x) => x.ok)) expect(facts(name).manifest).toContain(r.actual);
    }
  });

  it('refuses a malformed OVF with a DiskProbeError that says where', () => {
    expect(() => parseOvf('<Envelope><References></Envelope>')).toThrow(DiskProbeError);
    expect(() => parseOvf('<!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope/>')).toThrow(/DOCTYPE/);
    expect(() => parseOvf('<Other/>')).toThrow(/not <Envelope>/);
    const ovf = readFileSync(join(DIR, 'vm.ova')).subarray(512, 512 + facts('vm').members[0]!.size).toString('utf8');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ovf.length - 1 }), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 3 }), (at, cut, insert) => {
        const text = ovf.slice(0, at) + insert + ovf.slice(at + cut);
        try {
          parseOvf(text);
        } catch (e) {
          if (!(e instanceof DiskProbeError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('diskprobe info lists an OVA, and with --check fails on a manifest mismatch', async () => {
    const good = await runCli(['info', '--check', join(DIR, 'vm.ova')]);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/hardware: vmx-13, firmware efi, 2 CPU, 2048 MiB/);
    expect(good.out).toMatch(/controller 3: SCSI \(lsilogic\)/);
    expect(good.out).toMatch(/network adapter: Network adapter 1 \(VmxNet3\) on VM Network/);
    expect(good.out).toMatch(/disk vmdisk1: vm-disk1\.vmdk, capacity 4 MiB; vmdk \(streamOptimized\), 4 MiB/);
    const bad = await runCli(['info', '--check', '--json', join(DIR, 'vm-badmf.ova')]);
    expect(bad.code).toBe(1);
    const j = JSON.parse(bad.out) as { manifest: { file: string; ok: boolean }[] };
    expect(j.manifest.filter((m) => !m.ok).map((m) => m.file)).toEqual(['vm-disk1.vmdk']);
  });

  it('diskprobe check reads an OVA\'s first disk in place, and AWS takes the package', async () => {
    const r = await runCli(['check', '--profile', 'aws,alibaba', '--no-md5', '--format', 'json', join(DIR, 'vm.ova')]);
    const j = JSON.parse(r.out) as { image: { format: string; virtualSize: number }; profiles: { profile: string; check_items: { id: string; result: string }[] }[] };
    expect(j.image.format).toBe('ova');
    expect(j.image.virtualSize).toBe(facts('vm').members.find((m) => m.name === 'vm-disk1.vmdk')!.qemuImgInfo!['virtual-size']);
    const verdict = (p: string) => j.profiles.find((x) => x.profile === p)!.check_items.find((i) => i.id === 'image.format')!.result;
    expect(verdict('aws')).toBe('OK');
    expect(verdict('alibaba')).toBe('FAILED');
  });
});
