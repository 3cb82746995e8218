import { u64 } from '../../errors.js';
import { hasBytes, viewOf } from '../../util/bytes.js';
import type { FormatProbe, ProbeContext, ProbeOutcome } from '../types.js';
import { CRYPT_METHODS, MAX_BACKING_NAME, QCOW_MAGIC, QCowHeader as H, QCowV1Header as V1 } from './layout.js';

/** Recognises qcow (version 1, named and refused) and qcow2 (versions 2 and 3). */
export const qcowProbe: FormatProbe = {
  formats: ['qcow2', 'qcow'],
  async probe(ctx: ProbeContext): Promise<ProbeOutcome> {
    const head = ctx.head;
    if (!hasBytes(head, 0, QCOW_MAGIC)) return { reject: 'no "QFI\\xfb" magic at 0' };
    if (head.length < V1.LENGTH) return { reject: `"QFI\\xfb" magic, but only ${head.length} bytes: too short for a header` };
    const view = viewOf(head);
    const version = view.getUint32(H.version);
    const where = { layer: 'container' as const, format: 'qcow2', device: ctx.dev.label, structure: 'QCowHeader' };
    const evidence = [
      { offset: 0, what: 'magic "QFI\\xfb"' },
      { offset: H.version, what: `version = ${version}` },
    ];

    if (version === 1) {
      const size = u64(view, V1.size, false, { ...where, field: 'size', offset: V1.size });
      const crypt = view.getUint32(V1.crypt_method);
      return {
        format: 'qcow',
        kind: 'disk',
        subformat: 'v1',
        virtualSize: size,
        evidence,
        problem: 'qcow version 1 is obsolete and not read by diskprobe; convert it with `qemu-img convert -O qcow2`',
        facts: { version, clusterBits: view.getUint8(V1.cluster_bits), cryptMethod: CRYPT_METHODS[crypt] ?? crypt },
      };
    }
    if (version !== 2 && version !== 3) {
      return {
        format: 'qcow2',
        kind: 'disk',
        subformat: `v${version}`,
        evidence,
        problem: `qcow2 version ${version} is not defined by the specification (2 or 3 expected)`,
      };
    }

    const size = u64(view, H.size, false, { ...where, field: 'size', offset: H.size });
    const clusterBits = view.getUint32(H.cluster_bits);
    const crypt = view.getUint32(H.crypt_method);
    evidence.push({ offset: H.cluster_bits, what: `cluster_bits = ${clusterBits}` });
    const facts: Record<string, unknown> = {
      version,
      clusterBits,
      cryptMethod: CRYPT_METHODS[crypt] ?? crypt,
    };
    if (version === 3 && head.length >= H.V3_MIN_LENGTH) {
      facts.incompatibleFeatures = `0x${view.getBigUint64(H.incompatible_features).toString(16)}`;
      facts.compatibleFeatures = `0x${view.getBigUint64(H.compatible_features).toString(16)}`;
      facts.headerLength = view.getUint32(H.header_length);
    }

    // The backing file name: inside the first cluster, so usually inside `head`.
    const nameOffset = view.getBigUint64(H.backing_file_offset);
    const nameSize = view.getUint32(H.backing_file_size);
    if (nameOffset !== 0n && nameSize > 0 && nameSize <= MAX_BACKING_NAME && nameOffset < BigInt(ctx.size)) {
      const at = Number(nameOffset);
      const bytes = ctx.peek(at, nameSize) ?? (await ctx.read(at, nameSize));
      if (bytes) {
        // Names are bytes, normally UTF-8, and not NUL-terminated (qcow2.rst "Header").
        facts.backingFile = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
        evidence.push({ offset: at, what: `backing file "${facts.backingFile}"` });
      }
    }

    const match: ProbeOutcome = {
      format: 'qcow2',
      kind: 'disk',
      subformat: `v${version}`,
      virtualSize: size,
      evidence,
      facts,
    };
    if (crypt !== 0) {
      match.kind = 'encrypted';
      match.problem = `encrypted qcow2 (crypt_method ${CRYPT_METHODS[crypt] ?? crypt}): diskprobe does not decrypt images`;
    }
    return match;
  },
};
