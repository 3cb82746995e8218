/**
 * Inspection of hostile guests: every file inspection reads (fstab, release files, grub.cfg and
 * grubenv, BLS entries, kernels, sshd_config and its includes, network files, cloud.cfg,
 * package databases, systemd links) filled with fragments of real syntax and random text, and
 * symlinks among them pointing anywhere. Inspection must end with a Guest and findings — no
 * exception of any kind — in bounded time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspectRoot } from '../../src/guest/inspect.js';
import type { VolumeLayout } from '../../src/index.js';
import { memFs, type MemNode } from '../helpers/memfs.js';

const FILES = [
  '/etc/fstab',
  '/etc/os-release',
  '/usr/lib/os-release',
  '/etc/redhat-release',
  '/etc/debian_version',
  '/etc/lsb-release',
  '/etc/SuSE-release',
  '/etc/hostname',
  '/etc/sysconfig/network',
  '/etc/crypttab',
  '/boot/grub/grub.cfg',
  '/boot/grub/grubenv',
  '/boot/grub2/grub.cfg',
  '/boot/grub/menu.lst',
  '/boot/loader/entries/a.conf',
  '/boot/vmlinuz-6.1.0-1-amd64',
  '/boot/initrd.img-6.1.0-1-amd64',
  '/etc/default/grub',
  '/etc/ssh/sshd_config',
  '/etc/ssh/sshd_config.d/a.conf',
  '/etc/selinux/config',
  '/etc/adjtime',
  '/etc/passwd',
  '/etc/shadow',
  '/etc/network/interfaces',
  '/etc/netplan/50.yaml',
  '/etc/sysconfig/network-scripts/ifcfg-eth0',
  '/etc/NetworkManager/system-connections/a.nmconnection',
  '/etc/systemd/network/a.network',
  '/etc/systemd/system/data.mount',
  '/etc/cloud/cloud.cfg',
  '/etc/cloud/cloud.cfg.d/a.cfg',
  '/etc/udev/rules.d/70-persistent-net.rules',
  '/var/lib/dpkg/status',
  '/lib/apk/db/installed',
  '/usr/lib/modules/6.1.0-1-amd64/modules.builtin',
];
const FRAGMENTS = [
  'UUID=abc / ext4 defaults 0 1',
  '/dev/sda1 /boot xfs',
  'ID=debian\nVERSION_ID="12"',
  'set default="${saved_entry}"',
  'menuentry "x" { linux /vmlinuz-6.1.0-1-amd64 ro',
  'submenu "s" {',
  '}',
  'if [ "${a}" ]; then',
  'fi',
  'saved_entry=0>1>2',
  'Include /etc/ssh/sshd_config.d/*.conf',
  'Include /etc/ssh/sshd_config',
  'Match all',
  'PermitRootLogin yes',
  'source /etc/network/interfaces',
  'source-directory /etc/network',
  'iface eth0 inet static\n address 1.2.3.4\n netmask 255.255.0.0',
  'network:\n  ethernets:\n    e: {dhcp4: true}',
  'network: {config: disabled}',
  '  - [a, b',
  'key: |\n  text',
  '[Mount]\nWhat=UUID=x\nWhere=/data',
  '[ipv4]\naddress1=1.2.3.4/8,1.1.1.1',
  'Package: a\nStatus: install ok installed\nVersion: 1',
  'root:x:0:0::/root:/bin/sh',
  'BOOTPROTO=static\nIPADDR=1.2.3.4\nNETMASK=garbage',
  'HdrS',
  '\u0000\u00ff\u0007',
];

const content = fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 40 })), { maxLength: 12 }).map((parts) => parts.join('\n'));
const TARGETS = ['/', '/etc', '/etc/fstab', '../..', '../../../../etc/shadow', 'loop', '/boot/grub/grub.cfg', '/dev/null', '', 'x/y/z'];

describe('inspection of hostile guests', () => {
  it('ends with a guest and findings, whatever the files say', async () => {
    const layout: VolumeLayout = { disks: [], volumes: [], volumeGroups: [], findings: [] };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...FILES), content), { minLength: 1, maxLength: FILES.length }), fc.array(fc.tuple(fc.constantFrom(...FILES), fc.constantFrom(...TARGETS)), { maxLength: 4 }), async (files, links) => {
        const entries: Record<string, MemNode> = {};
        const dir = (p: string) => {
          const parts = p.split('/').slice(1, -1);
          for (let i = 1; i <= parts.length; i++) entries[`/${parts.slice(0, i).join('/')}`] ??= { type: 'directory' };
        };
        for (const [path, data] of files) {
          dir(path);
          entries[path] = { type: 'file', data };
        }
        for (const [path, target] of links) {
          dir(path);
          entries[path] = { type: 'symlink', target };
        }
        entries['/etc/systemd/system/local-fs.target.wants'] = { type: 'directory' };
        entries['/etc/systemd/system/local-fs.target.wants/data.mount'] = { type: 'symlink', target: '../data.mount' };
        const t = performance.now();
        const guest = await inspectRoot('root', memFs(entries), layout, () => Promise.reject(new Error('no volumes')), { initramfs: true });
        expect(guest.root).toBe('root');
        // About 5 ms each here; the bound is loose for loaded CI machines, and is about hangs.
        expect(performance.now() - t).toBeLessThan(3000);
      }),
      { numRuns: 200 },
    );
  });
});
