import { DiskProbeError, ErrorCode, throwIfAborted } from '../errors.js';
import type { BlockDevice } from '../device/types.js';
import { FALLBACK_PROBE, OPENERS, PROBES } from './registry.js';
import type { FormatProbe, ProbeContext, ProbeMatch, ProbeResult, Rejection } from './types.js';

/** Bytes read once at the start for every probe: enough for ISO 9660's descriptors at 32 KiB. */
export const PROBE_HEAD_BYTES = 64 * 1024;
/** Bytes read once at the end: a VHD footer (512) and the 511-byte variant. */
export const PROBE_TAIL_BYTES = 1024;
/** Further reads all probes together may make. */
export const PROBE_MAX_EXTRA_READS = 12;

/** Errors that are about the source, not the format: they end the probe. */
const SOURCE_ERRORS = new Set<string>([ErrorCode.IO, ErrorCode.HTTP, ErrorCode.HTTP_NO_RANGE, ErrorCode.CHANGED, ErrorCode.ABORTED, ErrorCode.TRUNCATED]);

function context(dev: BlockDevice, head: Uint8Array, tail: Uint8Array, signal?: AbortSignal): ProbeContext {
  const size = dev.size;
  let budget = PROBE_MAX_EXTRA_READS;
  return {
    dev,
    size,
    head,
    tail,
    peek(offset, length) {
      if (offset < 0 || length < 0) return undefined;
      if (offset + length <= head.length) return head.subarray(offset, offset + length);
      const tailStart = size - tail.length;
      if (offset >= tailStart && offset + length <= size) return tail.subarray(offset - tailStart, offset - tailStart + length);
      return undefined;
    },
    async read(offset, length) {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset >= size || length <= 0) return undefined;
      const peeked = this.peek(offset, Math.min(length, size - offset));
      if (peeked) return peeked;
      if (budget <= 0) return undefined;
      budget--;
      return dev.read(offset, Math.min(length, size - offset), signal);
    },
  };
}

async function run(p: FormatProbe, ctx: ProbeContext): Promise<ProbeMatch | { reject: string }> {
  try {
    return await p.probe(ctx);
  } catch (e) {
    if (e instanceof DiskProbeError && SOURCE_ERRORS.has(e.code)) throw e;
    // The probe's magic matched but a field it needs is out of range: a damaged header. An
    // error of another kind is a probe bug; it still must not crash the caller, so it is
    // reported the same way, named, for the fuzz tests to catch.
    const reason = e instanceof DiskProbeError ? e.message : `internal error ${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
    return { format: p.formats[0]!, kind: 'disk', evidence: [], problem: `damaged ${p.formats[0]} header: ${reason}` };
  }
}

/**
 * Says what format `dev` holds, reading as little as possible: the first 64 KiB and the last
 * 1 KiB once, then at most a few small reads for formats that need them. Every format is tried
 * (so that a source matching two formats is reported as ambiguous), raw last. Never throws
 * for the content of the source; throws `DiskProbeError` only when the source cannot be read.
 */
export async function probe(dev: BlockDevice, options: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const { signal } = options;
  throwIfAborted(signal, { layer: 'container', device: dev.label });
  const size = dev.size;
  if (size === 0) {
    return {
      format: 'empty',
      kind: 'empty',
      fileSize: 0,
      virtualSize: 0,
      evidence: [{ offset: 0, what: 'size is 0 bytes' }],
      problem: 'the file is empty',
      rejected: [],
      alsoMatched: [],
      readable: false,
    };
  }
  const headLength = Math.min(size, PROBE_HEAD_BYTES);
  const tailLength = Math.min(size, PROBE_TAIL_BYTES);
  const [head, tail] = await Promise.all([dev.read(0, headLength, signal), dev.read(size - tailLength, tailLength, signal)]);
  const ctx = context(dev, head, tail, signal);

  const matches: ProbeMatch[] = [];
  const rejected: Rejection[] = [];
  for (const p of PROBES) {
    const outcome = await run(p, ctx);
    if ('reject' in outcome) rejected.push({ format: p.formats[0]!, reason: outcome.reject });
    else matches.push(outcome);
  }
  const primary = matches[0] ?? ((await run(FALLBACK_PROBE, ctx)) as ProbeMatch);
  const alsoMatched = matches.slice(1);
  const result: ProbeResult = {
    ...primary,
    fileSize: size,
    rejected,
    alsoMatched,
    readable: primary.kind === 'disk' && OPENERS[primary.format] !== undefined,
  };
  if (alsoMatched.length > 0) {
    const all = matches.map((m) => `${m.format}${m.subformat ? ` (${m.subformat})` : ''}`).join(', ');
    const ambiguity = `the file matches more than one format (${all}): it may be crafted; say which format it is`;
    result.problem = result.problem ? `${ambiguity}; ${result.problem}` : ambiguity;
  }
  return result;
}
