/**
 * VHDX on-disk structures. Reference: Microsoft Open Specifications [MS-VHDX] v20180912,
 * section 2.2 (File Type Identifier, Headers, Region Table) and 2.6 (Metadata Region). All
 * fields are little-endian; GUIDs are in the mixed-endian Microsoft layout.
 */

/** [MS-VHDX] 2.2.1: `vhdxfile` at offset 0. */
export const FILE_SIGNATURE = [0x76, 0x68, 0x64, 0x78, 0x66, 0x69, 0x6c, 0x65] as const;
/** [MS-VHDX] 2.2.2: the two headers, each `head`. */
export const HEADER_OFFSETS = [64 * 1024, 128 * 1024] as const;
export const HEADER_SIGNATURE = [0x68, 0x65, 0x61, 0x64] as const;
/** [MS-VHDX] 2.2.3: the two region tables, each `regi`, 64 KiB long. */
export const REGION_TABLE_OFFSETS = [192 * 1024, 256 * 1024] as const;
export const REGION_TABLE_SIGNATURE = [0x72, 0x65, 0x67, 0x69] as const;
export const REGION_TABLE_LENGTH = 64 * 1024;

/** [MS-VHDX] 2.2.3.1 Region Table Header. */
export const RegionTableHeader = { Signature: 0, Checksum: 4, EntryCount: 8, LENGTH: 16, MAX_ENTRIES: 2047 } as const;
/** [MS-VHDX] 2.2.3.2 Region Table Entry. */
export const RegionTableEntry = { Guid: 0, FileOffset: 16, Length: 24, Required: 28, LENGTH: 32 } as const;

/** [MS-VHDX] 2.6.1.1 Metadata Table Header: `metadata`. */
export const METADATA_SIGNATURE = [0x6d, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61] as const;
export const MetadataTableHeader = { Signature: 0, EntryCount: 10, LENGTH: 32, MAX_ENTRIES: 2047 } as const;
/** [MS-VHDX] 2.6.1.2 Metadata Table Entry. */
export const MetadataTableEntry = { ItemId: 0, Offset: 16, Length: 20, Flags: 24, LENGTH: 32 } as const;

/** [MS-VHDX] 2.2.3.2 and 2.6.2: the GUIDs of known regions and metadata items. */
export const Guids = {
  BatRegion: '2DC27766-F623-4200-9D64-115E9BFD4A08',
  MetadataRegion: '8B7CA206-4790-4B9A-B8FE-575F050F886E',
  FileParameters: 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B',
  VirtualDiskSize: '2FA54224-CD1B-4876-B211-5DBED83BF4B8',
  LogicalSectorSize: '8141BF1D-A96F-4709-BA47-F233A8FAAB5F',
  PhysicalSectorSize: 'CDA348C7-445D-4471-9CC9-E9885251C556',
  ParentLocator: 'A8D35F2D-B30B-454D-ABF7-D3D84834AB0C',
} as const;

/** [MS-VHDX] 2.6.2.1 File Parameters: flags in the second DWORD. */
export const FileParametersFlags = { LeaveBlockAllocated: 1, HasParent: 2 } as const;
