/**
 * diskprobe: open a virtual machine disk image and say what it is and what is inside it,
 * without mounting anything. This entry point runs anywhere (browsers, Node, workers); the
 * Node adapters are in `diskprobe/node`.
 *
 * @packageDocumentation
 */
export { DiskProbeError, ErrorCode, isDiskProbeError, bounded, exact, u64 } from './errors.js';
export type { ErrorDetails, Layer, Where } from './errors.js';

export type { BlockDevice } from './device/types.js';
export { MAX_READ_BYTES } from './device/types.js';
export { fromBytes } from './device/bytes.js';
export { fromBlob } from './device/blob.js';
export { fromUrl } from './device/http.js';
export type { HttpDevice, HttpOptions, HttpStats } from './device/http.js';
export { slice } from './device/slice.js';
export { cached } from './device/cached.js';
export type { CacheOptions, CacheStats, CachedDevice } from './device/cached.js';
export { readInto } from './device/read-into.js';
export { readChunks } from './device/stream.js';
export type { ChunkOptions } from './device/stream.js';

export { probe, PROBE_HEAD_BYTES, PROBE_TAIL_BYTES, PROBE_MAX_EXTRA_READS } from './container/probe.js';
export { openDisk } from './container/open.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { Limits } from './limits.js';
export { Qcow2Image, checkIntegrity } from './container/qcow2/index.js';
export type { IntegrityReport, Snapshot } from './container/qcow2/index.js';

export { browserCodecs, zstdFrameLength } from './codec/index.js';
export type { Codecs, Decoder } from './codec/index.js';
export type {
  Disk,
  Evidence,
  Finding,
  FormatKind,
  FormatName,
  OpenOptions,
  ProbeMatch,
  ProbeResult,
  Reference,
  Rejection,
  Resolver,
} from './container/types.js';

export { readLayout, listVolumes, probeContent, parseConfig, GPT_TYPE_NAMES, GptType, gptTypeName, MBR_TYPE_NAMES, mbrTypeName, classifyBootCode } from './volume/index.js';
export type { LayoutOptions, ConfigSection, ConfigValue, PartitionTable, Volume, VolumeContent, VolumeGroupInfo, VolumeLayout, VolumeScheme } from './volume/index.js';

export { openFileSystem, READABLE_FILESYSTEMS, ExtFileSystem, XfsFileSystem, FatFileSystem, NtfsFileSystem } from './fs/index.js';
export type { OpenFileSystemOptions, DirEntry, FileSystem, FileType, FsStats, ReadFileOptions, Stats, StreamOptions, Timestamp } from './fs/index.js';

export { inspect, inspectLayout, readNetwork, parseYaml, YamlError, readPackages, readRpmSqlite, rpmHeaderPackage, SqliteFile, parseDpkgStatus, parseApkInstalled, parsePacmanDesc, listInitramfs, listInitramfsBytes, modulesIn, builtinModules, depModules, parseKernelConfig, GuestFileSystem, Services, SERVICES_OF_INTEREST, bzImageVersion, listKernels, readBoot, parseGrubCfg, parseGrubEnv, parseBlsEntry, parseMenuLst, compareVersions, parseSshdConfig, sshdEffective, SSHD_DEFAULTS, parsePasswd, parseShadow, parseAdjtime, passwordState, identify, fromOsRelease, fromReleaseLine, IDENTITY_FILES, elfArch, findVolume, splitMapperName, parseFstab, parseSpec, parseShellVars, inspectWindows, windowsRoot, imageFile, HIVE_NAMES, bootCriticalDrivers, CONTROLLERS, readPe, parseVersionInfo } from './guest/index.js';
export type { Guest, LinuxGuest, WindowsGuest, WindowsIdentity, HiveState, HiveName, DriveLetter, WindowsService, WindowsApplication, WindowsBoot, BootLoaderEntry, ResolvedDevice, FileVersion, BootCriticalDriver, Controller, PeInfo, PeVersion, RegEvidence, GuestConfig, GuestInitramfs, NetInterface, NetTool, NetworkConfig, YamlValue, Package, PackageDatabase, InitramfsEntry, InitramfsListing, InitramfsOptions, InitramfsSegment, BootInfo, Kernel, ServiceState, BootConfig, BootEntry, GrubOptions, SshdConfig, IncludeAccess, PasswdEntry, ShadowEntry, PasswordState, GuestMount, Inspection, InspectOptions, MountedFileSystem, OsIdentity, ElfArch, SpecMatch, Fstab, FstabEntry, FstabSpec, ShellVar, ShellVars } from './guest/index.js';

export { check, prepare, evaluate, selectProfiles, runItem, platformName, DEFAULT_PROFILE, PROFILES, PROFILE_NAMES, RULES, renderTxt } from './check/index.js';
export type { CheckOptions, CheckReport, ReportItem, ReportProfile, Rule, CheckContext, CheckEvidence, CheckItem, CheckProgress, ImageDigest, ImageFacts, ImportParameters, NameSet, Outcome, OsSupport, Profile, ProfileReport, Severity, Stance, Verdict } from './check/index.js';

export { openOva, openOvaDisk, diskMember, listTar, parseManifest, verifyManifest, parseOvf, unitBytes } from './container/ova/index.js';
export type { Ova, OvfDisk, OvfFile, OvfSystem, OvfController, Ovf, TarMember, ManifestEntry, Hasher } from './container/ova/index.js';
export { checkVmdkIntegrity, streamVmdk } from './container/vmdk/index.js';
export type { VmdkIntegrityReport } from './container/vmdk/index.js';
export { openHive, Hive, RegKey, decode as decodeRegValue, resolveControlSet, readBcd, marvin32, REG_TYPES, MAX_HIVE_BYTES, exportReg, regLine } from './registry/index.js';
export type { RegValue, ValueData, HiveLogs, OpenHiveOptions, Replay, BaseBlock, BcdStore, BcdObject, BcdElement, ExportRegOptions } from './registry/index.js';
