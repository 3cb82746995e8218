/**
 * The check items on the guests fixtures/checks.sh builds, against the verdicts written by hand
 * in fixtures/checks/expected.json and the facts the real tools recorded (dumpe2fs, lsattr,
 * sshd -T, cpio -t, md5sum).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { check, PROFILES, type CheckReport, type ReportItem } from '../../src/check/index.js';
import { digestFiles } from '../../src/node/digest.js';
import { openImage } from '../../src/node/image.js';

const DIR = join(__dirname, '../../fixtures/checks');
type Expect = { verdict: string; profiles?: Record<string, string> };
type EvidenceExpect = { source?: string; sourceMatch?: string; line?: number; offset?: number };
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  guests: Record<string, { items: Record<string, Expect>; evidence: Record<string, EvidenceExpect[]>; profileEvidence?: Record<string, Record<string, EvidenceExpect[]>> }>;
};
const checksums = JSON.parse(readFileSync(join(DIR, 'checksums.json'), 'utf8')) as Record<string, { md5: string; sha256: string }>;

async function run(name: string): Promise<{ report: CheckReport; facts: Record<string, unknown> }> {
  const path = join(DIR, `${name}.qcow2`);
  const image = await openImage(path);
  try {
    const digests = await digestFiles([path]);
    const report = await check(image.disk, { profile: 'all', digests, files: [{ label: `${name}.qcow2`, size: image.source.size }] });
    return { report, facts: JSON.parse(readFileSync(join(DIR, `${name}.facts.json`), 'utf8')) as Record<string, unknown> };
  } finally {
    await image.close();
  }
}

function matches(e: { source: string; line?: number; offset?: number }, want: EvidenceExpect): boolean {
  if (want.source !== undefined && e.source !== want.source) return false;
  if (want.sourceMatch !== undefined && !new RegExp(want.sourceMatch).test(e.source)) return false;
  if (want.line !== undefined && e.line !== want.line) return false;
  if (want.offset !== undefined && e.offset !== want.offset) return false;
  return true;
}

for (const [guest, spec] of Object.entries(expected.guests)) {
  describe(`check: ${guest}`, () => {
    let report: CheckReport;
    let facts: Record<string, unknown>;
    const item = (profile: string, id: string): ReportItem => {
      const p = report.profiles.find((x) => x.profile === profile)!;
      return p.check_items.find((i) => i.id === id)!;
    };
    beforeAll(async () => {
      ({ report, facts } = await run(guest));
    }, 60_000);

    it('every item of every profile has a hand-written expectation, and gets it', () => {
      const wrong: string[] = [];
      for (const p of report.profiles) {
        for (const i of p.check_items) {
          const e = spec.items[i.id];
          expect(e, `${guest}: no expectation for ${i.id}`).toBeDefined();
          const want = e!.profiles?.[p.profile] ?? e!.verdict;
          if (i.result !== want) wrong.push(`${p.profile} ${i.id}: ${i.result} (want ${want}): ${i.description}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(report.profiles.map((p) => p.profile)).toEqual(Object.keys(PROFILES));
    });

    it('every OK, WARNING and FAILED has evidence; every ERROR and SKIPPED says why', () => {
      for (const p of report.profiles) {
        for (const i of p.check_items) {
          if (i.result === 'ERROR' || i.result === 'SKIPPED') expect(i.description.length, `${p.profile} ${i.id}`).toBeGreaterThan(10);
          else expect(i.evidence.length, `${p.profile} ${i.id}`).toBeGreaterThan(0);
          if (i.result !== 'OK' && i.result !== 'SKIPPED' && i.result !== 'ERROR') expect(i.comment, `${p.profile} ${i.id} has a suggestion`).not.toBe('');
        }
      }
    });

    it('the evidence points at the right file and line', () => {
      for (const [id, wants] of Object.entries(spec.evidence)) {
        for (const p of report.profiles.filter((x) => x.check_items.some((i) => i.id === id))) {
          const got = item(p.profile, id).evidence;
          for (const w of wants) expect(got.some((e) => matches(e, w)), `${p.profile} ${id}: ${JSON.stringify(w)} in ${JSON.stringify(got)}`).toBe(true);
        }
      }
      for (const [profile, items] of Object.entries(spec.profileEvidence ?? {})) {
        for (const [id, wants] of Object.entries(items)) {
          const got = item(profile, id).evidence;
          for (const w of wants) expect(got.some((e) => matches(e, w)), `${profile} ${id}: ${JSON.stringify(w)}`).toBe(true);
        }
      }
    });

    it('the image facts agree with md5sum and sha256sum, and the volumes with sfdisk', () => {
      const sums = checksums[`${guest}.qcow2`]!;
      expect(report.image.digests?.[0]?.md5).toBe(sums.md5);
      expect(report.image.digests?.[0]?.sha256).toBe(sums.sha256);
      expect(item('didi', 'image.md5').value).toBe(sums.md5);
      const sf = (facts.sfdisk as { partitiontable: { partitions: { start: number; size: number }[] } }).partitiontable.partitions;
      const parts = report.volumes.filter((v) => v.scheme !== 'lvm');
      expect(parts.map((v) => [v.start, v.size])).toEqual(sf.map((p) => [p.start * 512, p.size * 512]));
      expect(Number(report.system_disk_size)).toBe(Math.ceil(((facts as { virtualSize: number }).virtualSize) / 1024 ** 3));
    });

    it('free space and inodes are what dumpe2fs counts', () => {
      const d = facts.dumpe2fs as Record<string, Record<string, number>>;
      const usage = item('alibaba', 'disk.usage').evidence;
      const inodes = item('alibaba', 'disk.inode-usage').evidence;
      for (const [volume, c] of Object.entries(d)) {
        const u = usage.find((e) => e.source === volume);
        if (u) expect(u.value).toContain(`(${c['Free blocks']} free blocks, ${c['Reserved block count']} reserved, block size ${c['Block size']})`);
        const i = inodes.find((e) => e.source === volume);
        if (i) expect(i.value).toContain(`(${c['Free inodes']} free of ${c['Inode count']})`);
      }
    });

    it('inode flags are what lsattr shows, and sshd settings what sshd -T prints', () => {
      const attrs = facts.lsattr as Record<string, string> | undefined;
      if (attrs) {
        const ev = item('alibaba', 'linux.shadow').evidence;
        for (const [path, flags] of Object.entries(attrs)) {
          const e = ev.find((x) => x.source === path)!;
          expect(e.value!.includes('immutable'), `${path} ${flags}`).toBe(flags.includes('i'));
        }
      }
      const sshd = facts.sshdT as Record<string, string> | undefined;
      if (sshd) {
        const ev = item('alibaba', 'linux.ssh').evidence;
        for (const k of ['port', 'permitrootlogin', 'usedns']) {
          if (item('alibaba', 'linux.ssh').result === 'FAILED') break;
          expect(ev.some((e) => e.value?.startsWith(`${k} ${sshd[k]}`)), `${k} ${sshd[k]} in ${JSON.stringify(ev)}`).toBe(true);
        }
      }
    });

    it('virtio at boot agrees with the initramfs as cpio lists it', () => {
      const cpio = facts.cpioList as string[] | undefined;
      if (!cpio) return;
      const has = cpio.some((p) => /\/virtio_blk\.ko(\.xz)?$/.test(p));
      const v = item('alibaba', 'linux.virtio');
      const blk = v.evidence.find((e) => e.value?.startsWith('virtio_blk: '))!;
      if (has) expect(blk.value).toMatch(/^virtio_blk: initramfs/);
      else expect(blk.value).not.toMatch(/^virtio_blk: initramfs/);
    });
  });
}
