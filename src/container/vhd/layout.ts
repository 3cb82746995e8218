/**
 * VHD on-disk structures. Reference: Microsoft "Virtual Hard Disk Image Format Specification"
 * v1.0, "Hard Disk Footer Format" and "Dynamic Disk Header Format". All fields are big-endian.
 */

/** `conectix`: the footer cookie. */
export const FOOTER_COOKIE = [0x63, 0x6f, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x78] as const;
/** `cxsparse`: the dynamic disk header cookie. */
export const DYNAMIC_COOKIE = [0x63, 0x78, 0x73, 0x70, 0x61, 0x72, 0x73, 0x65] as const;

/** "Hard Disk Footer Format": field offsets. */
export const Footer = {
  cookie: 0,
  features: 8,
  file_format_version: 12,
  data_offset: 16,
  time_stamp: 24,
  creator_application: 28,
  creator_version: 32,
  creator_host_os: 36,
  original_size: 40,
  current_size: 48,
  disk_geometry: 56,
  disk_type: 60,
  checksum: 64,
  unique_id: 68,
  saved_state: 84,
  LENGTH: 512,
} as const;

/** "Disk Type" values. */
export const DISK_TYPES: Record<number, string> = { 2: 'fixed', 3: 'dynamic', 4: 'differencing' };

/**
 * The footer checksum: the one's complement of the sum of the footer's bytes, with the
 * checksum field itself taken as zero.
 */
export function footerChecksum(footer: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < Footer.LENGTH; i++) {
    if (i >= Footer.checksum && i < Footer.checksum + 4) continue;
    sum = (sum + footer[i]!) >>> 0;
  }
  return ~sum >>> 0;
}
