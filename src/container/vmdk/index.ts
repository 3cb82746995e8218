/** VMDK as the container registry sees it. */
export { openVmdk } from './reader.js';
export { parseDescriptor, descriptorSize, type Descriptor, type ExtentLine } from './descriptor.js';
export { SparseExtent, readSparseHeader, decodeSparseHeader, type SparseHeader, type GrainEntry } from './sparse.js';
export { checkVmdkIntegrity, type VmdkIntegrityReport } from './integrity.js';
export { streamVmdk, type StreamOptions } from './stream.js';
