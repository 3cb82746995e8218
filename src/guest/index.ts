/**
 * Guest inspection: which operating systems a disk holds and what they would boot with, read
 * through the filesystem readers. This version inspects Linux roots: identity, architecture,
 * hostname and the fstab mounts; kernels, initramfs, services, network and packages follow.
 */
export { inspect, inspectLayout, type Guest, type GuestMount, type Inspection, type InspectOptions } from './inspect.js';
export { GuestFileSystem, type MountedFileSystem } from './view.js';
export { identify, fromOsRelease, fromReleaseLine, IDENTITY_FILES, type OsIdentity } from './identity.js';
export { elfArch, type ElfArch } from './elf.js';
export { findVolume, splitMapperName, type SpecMatch } from './devices.js';
export { parseFstab, parseSpec, type Fstab, type FstabEntry, type FstabSpec } from './parse/fstab.js';
export { parseShellVars, type ShellVar, type ShellVars } from './parse/shell-vars.js';
