/**
 * Pins a few field offsets against the specifications, so the layout tables cannot drift.
 * Sources: qemu docs/interop/qcow2.rst "Header"; VMware VMDK 5.0 technote "Hosted Sparse
 * Extent Header"; Microsoft VHD specification "Hard Disk Footer Format"; [MS-VHDX] 2.2.3.
 */
import { describe, expect, it } from 'vitest';
import { QCowHeader } from '../../src/container/qcow2/layout.js';
import { SparseExtentHeader } from '../../src/container/vmdk/layout.js';
import { Footer, footerChecksum } from '../../src/container/vhd/layout.js';
import { Guids, RegionTableEntry } from '../../src/container/vhdx/layout.js';
import { guidString } from '../../src/util/bytes.js';

describe('layouts', () => {
  it('qcow2 header', () => {
    expect([QCowHeader.size, QCowHeader.l1_table_offset, QCowHeader.incompatible_features, QCowHeader.header_length, QCowHeader.compression_type]).toEqual([24, 40, 72, 100, 104]);
  });
  it('VMDK sparse extent header', () => {
    expect([SparseExtentHeader.capacity, SparseExtentHeader.descriptorOffset, SparseExtentHeader.gdOffset, SparseExtentHeader.compressAlgorithm]).toEqual([12, 28, 56, 77]);
  });
  it('VHD footer, and its checksum over a footer from the specification\'s rules', () => {
    expect([Footer.current_size, Footer.disk_type, Footer.checksum, Footer.unique_id]).toEqual([48, 60, 64, 68]);
    const footer = new Uint8Array(512);
    footer.set([1, 2, 3], 0);
    footer.set([0xff, 0xff, 0xff, 0xff], 64); // ignored by the sum
    expect(footerChecksum(footer)).toBe(~6 >>> 0);
  });
  it('VHDX region entries and GUID text (mixed-endian)', () => {
    expect([RegionTableEntry.FileOffset, RegionTableEntry.Length, RegionTableEntry.LENGTH]).toEqual([16, 24, 32]);
    // The metadata region GUID as stored on disk: first three fields little-endian.
    const onDisk = new Uint8Array([0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e]);
    expect(guidString(onDisk)).toBe(Guids.MetadataRegion);
  });
});
