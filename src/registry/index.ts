/**
 * Windows registry hives (issue #12): the regf format, transaction-log replay, the current
 * control set of a SYSTEM hive, and BCD stores.
 */
export { openHive, Hive, RegKey, decode, MAX_HIVE_BYTES, type RegValue, type ValueData, type HiveLogs, type OpenHiveOptions } from './hive.js';
export { marvin32, type Replay } from './log.js';
export { REG_TYPES, type BaseBlock } from './regf.js';
export { readBcd, type BcdStore, type BcdObject, type BcdElement } from './bcd.js';
import { DiskProbeError, ErrorCode } from '../errors.js';
import type { Hive, RegKey } from './hive.js';

/**
 * The control set Windows would boot with, from a SYSTEM hive: `Select\Current` names it
 * (`CurrentControlSet` exists only in a running system). Returns the key and its number.
 */
export function resolveControlSet(system: Hive, which: 'Current' | 'Default' | 'LastKnownGood' | 'Failed' = 'Current'): { key: RegKey; number: number; path: string } {
  const select = system.key('Select');
  const v = select?.value(which);
  if (!select || !v || typeof v.data !== 'number') {
    throw new DiskProbeError(ErrorCode.NOT_FOUND, `no Select\\${which} DWORD: not a SYSTEM hive, or a damaged one`, { layer: 'registry', format: 'regf', device: system.label, structure: 'Select' });
  }
  const path = `ControlSet${String(v.data).padStart(3, '0')}`;
  const key = system.key(path);
  if (!key) throw new DiskProbeError(ErrorCode.NOT_FOUND, `Select\\${which} is ${v.data} but there is no ${path}`, { layer: 'registry', format: 'regf', device: system.label, structure: 'Select', value: v.data });
  return { key, number: v.data, path };
}
export { exportReg, regLine, type ExportRegOptions } from './reg-file.js';
