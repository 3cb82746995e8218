import type { BlockDevice } from './types.js';

/** Copies the optional members a wrapper must pass on (`path`, `close`). */
export function forward(inner: BlockDevice, outer: BlockDevice): BlockDevice {
  const extra: { path?: string; close?: () => Promise<void> } = {};
  if (inner.path !== undefined) extra.path = inner.path;
  if (inner.close) extra.close = () => inner.close!();
  return Object.assign(outer, extra);
}
