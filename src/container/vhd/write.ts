/**
 * The footer of a fixed VHD (Microsoft "Virtual Hard Disk Image Format Specification", "Hard
 * Disk Footer Format", and Appendix "CHS Calculation"). The creator application is Hyper-V's
 * ("win "): readers that size other creators' images by their CHS geometry (qemu's vpc driver
 * does, for any creator it does not know) take current_size for it, as Hyper-V and Azure do —
 * the geometry of a size that is a whole MiB rarely covers all of it.
 */
import { Footer as F, footerChecksum } from './layout.js';

/** Seconds from 1970 to the VHD epoch, 2000-01-01 00:00:00 UTC. */
const VHD_EPOCH = 946_684_800;

/** The specification's CHS geometry for a disk of `totalSectors`. */
export function vhdGeometry(totalSectors: number): { cylinders: number; heads: number; sectors: number } {
  const total = Math.min(totalSectors, 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectors: spt };
}

/** A fixed VHD's 512-byte footer for `size` bytes of data. */
export function fixedVhdFooter(size: number, options: { uniqueId?: Uint8Array; time?: Date } = {}): Uint8Array {
  const b = new Uint8Array(F.LENGTH);
  const v = new DataView(b.buffer);
  b.set(new TextEncoder().encode('conectix'), F.cookie);
  v.setUint32(F.features, 2); // reserved bit, always set
  v.setUint32(F.file_format_version, 0x00010000);
  v.setBigUint64(F.data_offset, 0xffffffffffffffffn);
  const seconds = Math.floor((options.time ?? new Date()).getTime() / 1000) - VHD_EPOCH;
  v.setUint32(F.time_stamp, Math.max(0, seconds) >>> 0);
  b.set(new TextEncoder().encode('win '), F.creator_application);
  v.setUint32(F.creator_version, 0x00010000);
  b.set(new TextEncoder().encode('Wi2k'), F.creator_host_os);
  v.setBigUint64(F.original_size, BigInt(size));
  v.setBigUint64(F.current_size, BigInt(size));
  const g = vhdGeometry(Math.floor(size / 512));
  v.setUint16(F.disk_geometry, g.cylinders);
  v.setUint8(F.disk_geometry + 2, g.heads);
  v.setUint8(F.disk_geometry + 3, g.sectors);
  v.setUint32(F.disk_type, 2);
  const id = options.uniqueId ?? crypto.getRandomValues(new Uint8Array(16));
  b.set(id.subarray(0, 16), F.unique_id);
  v.setUint32(F.checksum, footerChecksum(b));
  return b;
}
