/**
 * The architecture an ELF binary is built for, from its identification bytes and `e_machine`
 * (the System V ABI's ELF header; machine numbers from its registry, as `file` and libguestfs
 * name them).
 */

/** What an ELF header says of its target. */
export interface ElfArch {
  /** libguestfs's architecture name: `x86_64`, `i386`, `aarch64`, `ppc64le`, `riscv64`, … */
  arch: string;
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
}

/** e_machine → name; some names depend on class and byte order. */
function machineName(machine: number, bits: 32 | 64, endian: 'little' | 'big'): string {
  switch (machine) {
    case 2:
      return 'sparc';
    case 3:
      return 'i386';
    case 8:
      return bits === 64 ? 'mips64' : 'mips';
    case 20:
      return 'ppc';
    case 21:
      return endian === 'little' ? 'ppc64le' : 'ppc64';
    case 22:
      return bits === 64 ? 's390x' : 's390';
    case 40:
      return 'arm';
    case 43:
      return 'sparc64';
    case 50:
      return 'ia64';
    case 62:
      return 'x86_64';
    case 183:
      return 'aarch64';
    case 243:
      return bits === 64 ? 'riscv64' : 'riscv32';
    case 258:
      return 'loongarch64';
    default:
      return `unknown (e_machine ${machine})`;
  }
}

/** The architecture of the ELF file whose first bytes are `head` (at least 20), or undefined if it is not ELF. */
export function elfArch(head: Uint8Array): ElfArch | undefined {
  if (head.length < 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const bits = head[4] === 1 ? 32 : head[4] === 2 ? 64 : undefined;
  const endian = head[5] === 1 ? 'little' : head[5] === 2 ? 'big' : undefined;
  if (!bits || !endian) return undefined;
  const machine = endian === 'little' ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!;
  return { arch: machineName(machine, bits, endian), bits, endian, machine };
}
