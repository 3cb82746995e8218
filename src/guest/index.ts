/**
 * Guest inspection: which operating systems a disk holds and what they would boot with, read
 * through the filesystem readers. This version inspects Linux roots: identity, architecture,
 * hostname, the fstab mounts, kernels and the boot loader's default, services and the
 * configuration the checks read, network configuration, installed packages, and the
 * initramfs's modules.
 */
export { inspect, inspectLayout, type Guest, type LinuxGuest, type GuestConfig, type GuestInitramfs, type GuestMount, type Inspection, type InspectOptions } from './inspect.js';
export { listInitramfs, listInitramfsBytes, modulesIn, builtinModules, depModules, parseKernelConfig, type InitramfsEntry, type InitramfsListing, type InitramfsOptions, type InitramfsSegment } from './initramfs.js';
export { bzImageVersion, listKernels, readBoot, type BootInfo, type Kernel } from './boot.js';
export { Services, SERVICES_OF_INTEREST, type ServiceState } from './services.js';
export { parseGrubCfg, parseGrubEnv, parseBlsEntry, parseMenuLst, compareVersions, type BootConfig, type BootEntry, type GrubOptions } from './parse/grub.js';
export { parseSshdConfig, effective as sshdEffective, SSHD_DEFAULTS, type SshdConfig, type IncludeAccess } from './parse/sshd.js';
export { parsePasswd, parseShadow, parseAdjtime, passwordState, type PasswdEntry, type ShadowEntry, type PasswordState } from './parse/accounts.js';
export { GuestFileSystem, type MountedFileSystem } from './view.js';
export { identify, fromOsRelease, fromReleaseLine, IDENTITY_FILES, type OsIdentity } from './identity.js';
export { elfArch, type ElfArch } from './elf.js';
export { findVolume, splitMapperName, type SpecMatch } from './devices.js';
export { parseFstab, parseSpec, type Fstab, type FstabEntry, type FstabSpec } from './parse/fstab.js';
export { parseShellVars, type ShellVar, type ShellVars } from './parse/shell-vars.js';
export { readPackages, readRpmSqlite, rpmHeaderPackage, parseDpkgStatus, parseApkInstalled, parsePacmanDesc, type Package, type PackageDatabase } from './packages.js';
export { SqliteFile, type SqlValue } from './sqlite.js';
export { readNetwork, readCloudConfig, type CloudConfigFiles, fromIfcfg, fromNetplan, fromCloudInitV1, fromKeyfile, fromNetworkd, parsePersistentNet, parseIni, maskToPrefix, type NetInterface, type NetTool, type NetworkConfig } from './network.js';
export { parseYaml, YamlError, type YamlValue } from './parse/yaml.js';
export { inspectWindows, windowsRoot, imageFile, HIVE_NAMES, type WindowsGuest, type WindowsIdentity, type HiveState, type HiveName, type DriveLetter, type WindowsService, type WindowsApplication, type WindowsBoot, type BootLoaderEntry, type ResolvedDevice, type FileVersion } from './windows/inspect.js';
export { bootCriticalDrivers, CONTROLLERS, type BootCriticalDriver, type Controller } from './windows/drivers.js';
export { readPe, parseVersionInfo, type PeInfo, type PeVersion } from './windows/pe.js';
export { hklm, numberOf, stringOf, stringsOf, evidenceOf, type RegEvidence } from './windows/values.js';
