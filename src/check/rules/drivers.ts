/**
 * Whether the default kernel can load a driver at boot (CHECKS.md linux.virtio, linux.nvme,
 * linux.moc; vendor-checks.md D4–D6): built in (modules.builtin, or `=y` in /boot/config-*),
 * in the initramfs, only on the root filesystem (`/lib/modules/<v>/modules.dep`), or absent.
 */
import { findLine, guestFile, initramfsModules, type CheckContext } from '../context.js';
import type { CheckEvidence } from '../types.js';

export type DriverState = 'builtin' | 'initramfs' | 'on-disk' | 'absent' | 'unknown';

export interface Driver {
  module: string;
  state: DriverState;
  evidence: CheckEvidence[];
  /** Why the state is `unknown` (the initramfs could not be read, no kernel found). */
  why?: string;
}

/** Kconfig symbols of the drivers the checks ask about. */
export const DRIVER_SYMBOLS: Record<string, string> = {
  virtio_blk: 'CONFIG_VIRTIO_BLK',
  virtio_scsi: 'CONFIG_SCSI_VIRTIO',
  virtio_net: 'CONFIG_VIRTIO_NET',
  virtio_pci: 'CONFIG_VIRTIO_PCI',
  virtio: 'CONFIG_VIRTIO',
  nvme: 'CONFIG_BLK_DEV_NVME',
  hv_vmbus: 'CONFIG_HYPERV',
  hv_storvsc: 'CONFIG_HYPERV_STORAGE',
  hv_netvsc: 'CONFIG_HYPERV_NET',
  xen_blkfront: 'CONFIG_XEN_BLKDEV_FRONTEND',
};

/** Where a driver is, for the default kernel (or the newest one). */
export async function driver(ctx: CheckContext, module: string): Promise<Driver> {
  return ctx.memo(`driver:${module}`, async () => {
    const g = ctx.guest!;
    const kernel = g.boot.defaultKernel ?? g.kernels[0];
    if (!kernel) return { module, state: 'unknown', evidence: [{ source: '/boot', value: 'no kernel image', absent: true }], why: 'no kernel found in /boot' };
    const evidence: CheckEvidence[] = [];
    if (g.builtinModules?.includes(module)) {
      return { module, state: 'builtin', evidence: [{ source: `${kernel.modules}/modules.builtin`, value: `${module} built into ${kernel.version}` }] };
    }
    const symbol = DRIVER_SYMBOLS[module];
    const configValue = symbol ? g.kernelConfig?.[symbol] : undefined;
    if (symbol && configValue !== undefined && kernel.config) {
      const file = await guestFile(ctx, kernel.config);
      const at = findLine(file, new RegExp(`^(# )?${symbol}[= ]`));
      const e: CheckEvidence = { source: kernel.config, value: at?.text ?? `${symbol}=${configValue}` };
      if (at) e.line = at.line;
      if (configValue === 'y') return { module, state: 'builtin', evidence: [e] };
      evidence.push(e);
    }
    const initramfs = await initramfsModules(ctx);
    if ('modules' in initramfs) {
      if (initramfs.modules.has(module)) return { module, state: 'initramfs', evidence: [...evidence, { source: initramfs.path, value: `${module}.ko in the initramfs (${initramfs.compression.join(' + ')})` }] };
      evidence.push({ source: initramfs.path, value: `${initramfs.modules.size} modules, not ${module}${initramfs.complete ? '' : ' (the archive is incomplete)'}`, absent: true });
    } else {
      evidence.push({ source: initramfs.path ?? '/boot', value: initramfs.error });
    }
    const onDisk = g.availableModules?.includes(module);
    if (onDisk) evidence.push({ source: `${kernel.modules}/modules.dep`, value: `${module} is a loadable module on the root filesystem` });
    else if (g.availableModules) evidence.push({ source: `${kernel.modules}/modules.dep`, value: `${module} not listed`, absent: true });
    if (!('modules' in initramfs)) return { module, state: 'unknown', evidence, why: initramfs.error };
    // Not among the modules listed, but the listing stopped early: the rest may hold it.
    if (!initramfs.complete) return { module, state: 'unknown', evidence, why: `${initramfs.path} could not all be read (${initramfs.why ?? 'the archive ends early'}), and ${module} is not in the part that was` };
    if (onDisk) return { module, state: 'on-disk', evidence };
    if (configValue === 'n' || g.availableModules || g.builtinModules) return { module, state: 'absent', evidence };
    return { module, state: 'unknown', evidence, why: `neither ${kernel.modules ?? '/lib/modules'} nor /boot/config-${kernel.version} says whether ${kernel.version} has ${module}` };
  });
}

/** Loadable before the root filesystem is mounted. */
export const atBoot = (d: Driver) => d.state === 'builtin' || d.state === 'initramfs';
