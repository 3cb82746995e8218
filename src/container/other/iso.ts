/**
 * ISO 9660 (and UDF) optical-disc images: what users upload when they mean to upload a disk.
 * Reference: ECMA-119 4th ed., 8.4 (Primary Volume Descriptor) and 8.2 (Boot Record,
 * with the El Torito specification's "EL TORITO SPECIFICATION" identifier); ECMA-167 2/9.1
 * (UDF's volume recognition sequence: BEA01, NSR02/NSR03).
 */
import { asciiBytes, cString, hasBytes, viewOf } from '../../util/bytes.js';
import type { Evidence, FormatProbe, ProbeOutcome } from '../types.js';

/** ECMA-119 6.2: the volume descriptor set starts at logical sector 16 of 2048 bytes. */
const DESCRIPTORS_AT = 16 * 2048;
const SECTOR = 2048;
const CD001 = asciiBytes('CD001');
const BEA01 = asciiBytes('BEA01');
const NSR = [asciiBytes('NSR02'), asciiBytes('NSR03')];
const EL_TORITO = asciiBytes('EL TORITO SPECIFICATION');
/** ECMA-119 8.4: Primary Volume Descriptor field offsets. */
const Pvd = { type: 0, id: 1, version: 6, volumeIdentifier: 40, volumeSpaceSize: 80, logicalBlockSize: 128 } as const;
/** Volume descriptors looked at, at most. */
const MAX_DESCRIPTORS = 8;

export const isoProbe: FormatProbe = {
  formats: ['iso9660'],
  probe(ctx): ProbeOutcome {
    const head = ctx.head;
    const evidence: Evidence[] = [];
    const facts: Record<string, unknown> = {};
    let found = false;
    let udf = false;
    for (let i = 0; i < MAX_DESCRIPTORS; i++) {
      const at = DESCRIPTORS_AT + i * SECTOR;
      if (at + SECTOR > head.length) break;
      if (hasBytes(head, at + Pvd.id, CD001)) {
        found = true;
        const type = head[at + Pvd.type]!;
        if (type === 1) {
          const view = viewOf(head.subarray(at, at + SECTOR));
          facts.volumeId = cString(head, at + Pvd.volumeIdentifier, 32);
          facts.volumeSize = view.getUint32(Pvd.volumeSpaceSize, true) * view.getUint16(Pvd.logicalBlockSize, true);
          evidence.push({ offset: at, what: `primary volume descriptor "CD001", volume id "${facts.volumeId}"` });
        } else if (type === 0 && hasBytes(head, at + 7, EL_TORITO)) {
          facts.bootable = true;
          evidence.push({ offset: at, what: 'El Torito boot record' });
        } else if (type === 255) {
          break;
        }
      } else if (hasBytes(head, at + 1, BEA01)) {
        evidence.push({ offset: at, what: 'UDF "BEA01"' });
      } else if (NSR.some((m) => hasBytes(head, at + 1, m))) {
        udf = true;
        evidence.push({ offset: at, what: `UDF "${cString(head, at + 1, 5)}"` });
      }
    }
    if (!found && !udf) return { reject: 'no "CD001" or UDF "NSR0x" volume descriptor at 0x8000' };
    // A hybrid ISO also carries a partition table so it can be written to a USB stick.
    const mbr = head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa;
    const gpt = hasBytes(head, 512, asciiBytes('EFI PART'));
    if (mbr) evidence.push({ offset: 510, what: 'MBR boot signature 55aa' });
    if (gpt) evidence.push({ offset: 512, what: 'GPT header "EFI PART"' });
    const name = found ? 'ISO 9660' : 'UDF';
    return {
      format: 'iso9660',
      kind: 'installer',
      subformat: mbr || gpt ? 'hybrid' : udf && !found ? 'udf' : 'plain',
      evidence,
      facts,
      problem: `an ${name} optical-disc image (an installer or data disc), not a disk image: install the system onto a virtual disk and upload that disk`,
    };
  },
};
