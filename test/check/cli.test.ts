/**
 * `diskprobe check`: exit codes, the TXT and JSON reports (validated against the published JSON
 * Schema), vendor vocabularies, digests, images that are not disks, and images at a URL.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/check/index.js';
import { runCli } from '../helpers/cli.js';
import { startStaticServer, type StaticServer } from '../helpers/static-server.js';

const ROOT = join(__dirname, '../..');
const FX = join(ROOT, 'fixtures');
const schema = JSON.parse(readFileSync(join(ROOT, 'docs/check-report.schema.json'), 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
const checksums = JSON.parse(readFileSync(join(FX, 'checks/checksums.json'), 'utf8')) as Record<string, { md5: string }>;

function json(out: string): CheckReport {
  const r = JSON.parse(out) as CheckReport;
  const ok = validate(r);
  expect(validate.errors ?? [], 'the report matches docs/check-report.schema.json').toEqual([]);
  expect(ok).toBe(true);
  return r;
}

describe('diskprobe check', () => {
  it('prints the TXT report and exits 0 when nothing FAILED', async () => {
    const r = await runCli(['check', '--profile', 'alibaba', '--quiet', join(FX, 'checks/good.qcow2')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Current system: Ubuntu 16\.04/);
    expect(r.out).toMatch(/Architecture: x86_64/);
    expect(r.out).toMatch(/System disk size: 40 GiB/);
    expect(r.out).toMatch(/^ {4}Check driver +\[ {2}OK {2}\]$/m);
    expect(r.out).toMatch(/^ {4}0 items are failed\.$/m);
  });

  it('exits 1 when an item FAILED, and the JSON report matches the schema', async () => {
    const r = await runCli(['check', '--profile', 'jdcloud', '--format', 'json', join(FX, 'checks/centos-bad.qcow2')]);
    expect(r.code).toBe(1);
    const report = json(r.out);
    expect(report.platform).toBe('CentOS');
    expect(report.os_big_version).toBe('7');
    expect(report.os_small_version).toBe('9');
    expect(report.architecture).toBe('x86_64');
    expect(report.system_disk_size).toBe('4');
    expect(report.time).toMatch(/^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
    const selinux = report.check_items.find((i) => i.id === 'linux.selinux')!;
    expect(selinux).toMatchObject({ result: 'FAILED', error_code: '2', name: 'selinux' });
    expect(selinux.comment).not.toBe('');
    expect(report.profiles[0]!.import_parameters).toMatchObject({ osType: 'linux', platform: 'CentOS', architecture: 'x86_64', diskFormat: 'qcow2', systemDiskSizeGB: 4, bootMode: 'BIOS' });
  });

  it('--profile all prints a matrix of item × cloud from one inspection', async () => {
    const r = await runCli(['check', '--profile', 'all', '--no-md5', join(FX, 'checks/uefi-full.qcow2')]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^item +alibaba +didi +jdcloud +aws +azure +gcp +huawei +tencent +baidu +generic *$/m);
    expect(r.out).toMatch(/^disk\.partition-table +OK +FAILED +FAILED +OK /m);
    const j = json((await runCli(['check', '--profile', 'all', '--no-md5', '--format', 'json', join(FX, 'checks/uefi-full.qcow2')])).out);
    expect(Object.keys(j.matrix!['linux.virtio']!)).toContain('gcp');
  });

  it('--names picks a vendor vocabulary', async () => {
    const didi = json((await runCli(['check', '--profile', 'alibaba', '--names', 'didi', '--no-md5', '--format', 'json', join(FX, 'checks/good.qcow2')])).out);
    expect(didi.check_items.find((i) => i.id === 'linux.virtio')!.name).toBe('VIRTIO_DRIVER');
    const ecs = json((await runCli(['check', '--names', 'ecs', '--no-md5', '--format', 'json', join(FX, 'checks/good.qcow2')])).out);
    expect(ecs.check_items.find((i) => i.id === 'linux.virtio')!.name).toBe('GUESTOS.Virtio');
  });

  it('computes the MD5 md5sum computes, or says why not', async () => {
    const withMd5 = json((await runCli(['check', '--profile', 'didi', '--format', 'json', join(FX, 'checks/good.qcow2')])).out);
    expect(withMd5.check_items.find((i) => i.id === 'image.md5')).toMatchObject({ result: 'OK', value: checksums['good.qcow2']!.md5 });
    const without = json((await runCli(['check', '--profile', 'didi', '--no-md5', '--format', 'json', join(FX, 'checks/good.qcow2')])).out);
    expect(without.check_items.find((i) => i.id === 'image.md5')).toMatchObject({ result: 'WARNING' });
  });

  it('a compressed file is FAILED on the format and ERROR on what it cannot read', async () => {
    const r = await runCli(['check', '--profile', 'alibaba', '--no-md5', '--format', 'json', join(FX, 'images/archive/disk.raw.gz')]);
    expect(r.code).toBe(1);
    const j = json(r.out);
    const format = j.check_items.find((i) => i.id === 'image.format')!;
    expect(format.result).toBe('FAILED');
    expect(format.comment).toMatch(/Decompress/);
    expect(format.evidence.length).toBeGreaterThan(0);
    expect(j.check_items.find((i) => i.id === 'linux.ssh')!.result).toBe('ERROR');
  });

  it('-o writes the report to a file', async () => {
    const { mkdtempSync, readFileSync: read } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const out = join(mkdtempSync(join(tmpdir(), 'diskprobe-check-')), 'report.json');
    const r = await runCli(['check', '--profile', 'generic', '--no-md5', '--format', 'json', '-o', out, join(FX, 'checks/good.qcow2')]);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/report written to/);
    expect(json(read(out, 'utf8')).profile).toBe('generic');
  });

  it("Azure's fixed-VHD item reads the footer: MiB-aligned current_size, file size plus 512", async () => {
    const verdict = async (file: string) => json((await runCli(['check', '--profile', 'azure', '--no-md5', '--format', 'json', join(FX, 'images/vhd', file)])).out).check_items.find((i) => i.id === 'image.fixed-vhd')!;
    // qemu-img convert -O vpc rounds to the CHS geometry unless force_size (the facts' qemu-img info).
    const info = (file: string) => (JSON.parse(readFileSync(join(FX, 'images/vhd', `${file}.facts.json`), 'utf8')) as { qemuImgInfoPinned: { 'virtual-size': number } }).qemuImgInfoPinned['virtual-size'];
    expect(info('fixed.vhd') % 1048576).not.toBe(0);
    expect((await verdict('fixed.vhd')).result).toBe('FAILED');
    expect(info('fixed-force.vhd') % 1048576).toBe(0);
    expect((await verdict('fixed-force.vhd')).result).toBe('OK');
    expect((await verdict('dynamic.vhd')).result).toBe('FAILED');
  });

  it('--jobs checks several images N at a time: a line per image, the rate, reports as JSON Lines or files', async () => {
    const images = ['checks/good.qcow2', 'checks/centos-bad.qcow2', 'windows/win-legacy.qcow2'].map((f) => join(FX, f));
    const r = await runCli(['check', '--jobs', '2', '--no-md5', '--profile', 'alibaba,didi', '--format', 'json', ...images]);
    expect(r.code).toBe(1);
    const reports = r.out.trim().split('\n').map((l) => json(l));
    expect(reports.map((x) => x.image.label).sort()).toEqual(['centos-bad.qcow2', 'good.qcow2', 'win-legacy.qcow2']);
    expect(reports.find((x) => x.image.label === 'win-legacy.qcow2')!.guest?.distro).toBe('windows');
    expect(r.err).toMatch(/^3 image\(s\) in [\d.]+ s with 2 job\(s\): \d+ images per minute; 2 with FAILED items, 0 not checked$/m);
    expect(r.err).toMatch(/^FAILED .*centos-bad\.qcow2/m);
    const { mkdtempSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'diskprobe-batch-'));
    const t = await runCli(['check', '-j', '3', '--no-md5', '-o', dir, images[0]!, images[2]!, join(FX, 'nonexistent.qcow2')]);
    expect(t.code).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['good.qcow2.txt', 'win-legacy.qcow2.txt']);
    expect(t.err).toMatch(/^ERROR {2}.*nonexistent\.qcow2/m);
    expect((await runCli(['check', images[0]!, images[1]!])).code).toBe(2);
    expect((await runCli(['check', '--jobs', '0', images[0]!])).code).toBe(2);
  });

  it('exits 2 on usage errors and unreadable inputs', async () => {
    expect((await runCli(['check', '--profile', 'nosuchcloud', join(FX, 'checks/good.qcow2')])).code).toBe(2);
    expect((await runCli(['check', '--format', 'xml', join(FX, 'checks/good.qcow2')])).code).toBe(2);
    expect((await runCli(['check'])).code).toBe(2);
    expect((await runCli(['check', join(FX, 'checks/no-such-file.qcow2')])).code).toBe(2);
  });

  describe('an image at a URL', () => {
    let server: StaticServer;
    beforeAll(async () => {
      server = await startStaticServer(join(FX, 'checks'));
    });
    afterAll(() => server.close());

    it('reads only what the checks need, says how much, and does not hash it unless asked', async () => {
      const r = await runCli(['check', '--profile', 'all', '--format', 'json', `${server.url}/good.qcow2`]);
      const j = JSON.parse(r.out) as CheckReport & { http: { bytesFetched: number; requests: number } };
      expect(j.http.bytesFetched).toBeGreaterThan(0);
      expect(j.http.bytesFetched).toBeLessThan(64 * 1024 * 1024);
      const didi = j.profiles.find((p) => p.profile === 'didi')!;
      expect(didi.check_items.find((i) => i.id === 'image.md5')!.result).toBe('WARNING');
      expect(didi.check_items.find((i) => i.id === 'linux.virtio')!.result).toBe('OK');
      const hashed = JSON.parse((await runCli(['check', '--profile', 'didi', '--md5', '--format', 'json', `${server.url}/good.qcow2`])).out) as CheckReport;
      expect(hashed.check_items.find((i) => i.id === 'image.md5')!.value).toBe(checksums['good.qcow2']!.md5);
    });
  });
});
