/**
 * Initramfs images built with cpio and each compressor (fixtures/initramfs.sh) listed against
 * what lsinitramfs (initramfs-tools) lists; a cut image gives a finding and what could be read. The decoders against their own tools on larger data are in
 * test/codec/expand.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { builtinModules, CpioScanner, depModules, listInitramfsBytes, modulesIn, parseKernelConfig, type InitramfsEntry } from '../../src/guest/initramfs.js';
import { DiskProbeError } from '../../src/index.js';
import { FIXTURES } from '../helpers/fixtures.js';

const DIR = join(FIXTURES, 'initramfs');
const images = readdirSync(DIR).filter((f) => f.endsWith('.img'));
const factsOf = (img: string) => JSON.parse(readFileSync(join(DIR, img.replace(/\.img$/, '.facts.json')), 'utf8')) as { lsinitramfs: string[]; lsinitramfsStatus: number };
const bytesOf = (img: string) => new Uint8Array(readFileSync(join(DIR, img)));

describe.each(images)('initramfs %s', (img) => {
  it('lists what lsinitramfs lists, or says why it cannot', async () => {
    const facts = factsOf(img);
    const listing = await listInitramfsBytes(bytesOf(img), img);
    const names = listing.entries.map((e) => e.name).sort();
    const want = [...new Set(facts.lsinitramfs.filter((n) => n !== '.'))].sort();
    if (img.startsWith('truncated')) {
      // lsinitramfs fails on it too (it also exits 2 after a plain cpio archive, so its status
      // alone does not say "cut").
      expect(facts.lsinitramfsStatus).not.toBe(0);
      expect(listing.complete).toBe(false);
      expect(listing.findings.map((f) => f.code)).toEqual(['guest.initramfs-truncated']);
      return;
    }
    expect(listing.complete).toBe(true);
    expect(listing.findings).toEqual([]);
    expect(names).toEqual(want);
    expect(modulesIn(listing.entries)).toEqual(['nvme', 'virtio_blk', 'virtio_net', 'virtio_pci', 'virtio_scsi']);
  });
});

describe('the streaming cpio scanner (zstd initramfs are listed as they expand)', () => {
  it('lists an archive cut into pieces anywhere as it lists the whole; a cut archive is TRUNCATED', async () => {
    const plain = images.find((i) => /^(none|plain|uncompressed)/.test(i)) ?? images.find((i) => { const b = bytesOf(i); return b[0] === 0x30 && b[1] === 0x37; })!;
    const whole = bytesOf(plain);
    const want = (await listInitramfsBytes(whole, plain)).entries;
    fc.assert(
      fc.property(fc.array(fc.nat(whole.length), { maxLength: 40 }), (cuts) => {
        const points = [...new Set([0, ...cuts, whole.length])].sort((a, b) => a - b);
        const got: InitramfsEntry[] = [];
        const s = new CpioScanner(got, 'x');
        for (let i = 1; i < points.length; i++) s.push(whole.subarray(points[i - 1], points[i]));
        s.end();
        expect(got).toEqual(want);
      }),
      { numRuns: 200 },
    );
    // Cut inside the first file's data: the entries before, then TRUNCATED.
    const firstData = 110 + 4096;
    const got: InitramfsEntry[] = [];
    const s = new CpioScanner(got, 'x');
    s.push(whole.subarray(0, Math.min(whole.length - 1, firstData)));
    expect(() => s.end()).toThrow(DiskProbeError);
  });
});

describe('initramfs on damaged bytes', () => {
  it('never throws anything but a result with findings, whatever the bytes', async () => {
    const base = bytesOf('early-zstd.img');
    const gz = bytesOf('gzip.img');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(base, gz), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }), fc.nat(), async (src, flips, cut) => {
        const b = src.slice(0, Math.max(1, cut % (src.length + 1)));
        for (const [at, v] of flips) b[at % b.length] = v;
        try {
          const l = await listInitramfsBytes(b, 'x', { maxExpandedBytes: 16 << 20 });
          expect(l.complete || l.findings.length > 0).toBe(true);
        } catch (e) {
          if (!(e instanceof DiskProbeError)) throw e;
          throw new Error(`listing threw instead of recording a finding: ${e.message}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('reads modules.dep and kernel configs', () => {
    expect(depModules('kernel/fs/ext4/ext4.ko.zst: kernel/fs/mbcache.ko.zst\nkernel/drivers/hv/hv-vmbus.ko:\n\n')).toEqual(['ext4', 'hv_vmbus']);
    expect(parseKernelConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\n# comment\n')).toEqual({ CONFIG_A: 'y', CONFIG_B: 'n', CONFIG_C: 'x y' });
    expect(parseKernelConfig('CONFIG_VIRTIO_BLK=m\nCONFIG_EXT4_FS=y\n', true)).toEqual({ CONFIG_VIRTIO_BLK: 'm' });
  });

  it('reads module names from modules.builtin', () => {
    expect(builtinModules('kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/virtio-blk.ko\n')).toEqual(['virtio', 'virtio_blk', 'virtio_pci']);
  });
});
