/**
 * The engine on small in-memory guests: hostile files never make the run throw, every item gets
 * a verdict, an OK always has evidence, and a rule's exception is that rule's ERROR.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, PROFILES, RULES, runItem } from '../../src/check/index.js';
import { memoiser, type CheckContext } from '../../src/check/context.js';
import { inspectRoot } from '../../src/guest/inspect.js';
import type { VolumeLayout } from '../../src/volume/types.js';
import { memFs, type MemNode } from '../helpers/memfs.js';

const layout: VolumeLayout = { disks: [], volumes: [], volumeGroups: [], findings: [] };

function ctxFor(guest: Awaited<ReturnType<typeof inspectRoot>>): CheckContext {
  return { image: { label: 'mem', format: 'raw', files: [{ label: 'mem', size: 0 }], fileSize: 0, findings: [] }, layout, guest, memo: memoiser() };
}

const FILES = ['/etc/os-release', '/etc/fstab', '/etc/passwd', '/etc/shadow', '/etc/ssh/sshd_config', '/etc/selinux/config', '/etc/adjtime', '/boot/grub/grub.cfg', '/etc/network/interfaces', '/etc/sysconfig/network-scripts/ifcfg-eth0', '/etc/cloud/cloud.cfg', '/etc/udev/rules.d/70-persistent-net.rules', '/etc/ufw/ufw.conf', '/etc/firewalld/zones/public.xml', '/boot/vmlinuz-1', '/boot/initrd.img-1', '/boot/config-1', '/lib/modules/1/modules.dep', '/lib/modules/1/modules.builtin', '/usr/bin/passwd'];
const FRAGMENTS = ['ID=centos\nVERSION_ID=7.9', 'SELINUX=enforcing', 'root:x:0:0:root:/root:/bin/bash', 'UUID=x / ext4 defaults 0 1', 'Include /etc/ssh/*', 'PermitRootLogin no', 'LOCAL', 'menuentry "x" {\n linux /vmlinuz-1 root=UUID=x\n initrd /initrd.img-1\n}', 'iface eth0 inet static', 'BOOTPROTO=static', 'CONFIG_VIRTIO_BLK=m', 'kernel/drivers/block/virtio_blk.ko:', '\u0007\u0000', '<service name="ssh"/>'];
const content = fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 30 })), { maxLength: 8 }).map((p) => p.join('\n'));

describe('the check engine', () => {
  it('gives every item of every profile a verdict on hostile guests, and no OK without evidence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...FILES), content), { minLength: 1, maxLength: 12 }), async (files) => {
        const entries: Record<string, MemNode> = {};
        for (const [path, data] of files) {
          const parts = path.split('/').slice(1, -1);
          for (let i = 1; i <= parts.length; i++) entries[`/${parts.slice(0, i).join('/')}`] ??= { type: 'directory' };
          entries[path] = { type: 'file', data };
        }
        const guest = await inspectRoot('root', memFs(entries), layout, () => Promise.reject(new Error('no volumes')));
        const report = await evaluate(ctxFor(guest), Object.values(PROFILES));
        for (const p of report.profiles) {
          expect(p.check_items.length).toBe(PROFILES[p.profile]!.items.length);
          for (const i of p.check_items) {
            expect(['OK', 'WARNING', 'FAILED', 'ERROR', 'SKIPPED']).toContain(i.result);
            if (i.result === 'OK') expect(i.evidence.length, `${p.profile} ${i.id}`).toBeGreaterThan(0);
            expect(i.description).not.toMatch(/a defect in diskprobe|the rule failed while reading/);
          }
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it("turns a rule's exception into that rule's ERROR", async () => {
    const guest = await inspectRoot('root', memFs({ '/etc': { type: 'directory' }, '/etc/passwd': { type: 'file', data: 'root:x:0:0::/root:/bin/sh\n' } }), layout, () => Promise.reject(new Error('none')));
    const broken = { ...guest, fs: new Proxy(guest.fs, { get: (t, k) => (k === 'readFile' ? () => Promise.reject(new TypeError('boom')) : Reflect.get(t, k)) }) };
    const o = await runItem(ctxFor(broken), PROFILES.alibaba!, 'linux.root-account');
    expect(o.verdict).toBe('ERROR');
    expect(o.description).toMatch(/TypeError: boom/);
  });

  it('says ERROR for an item no rule implements, and every profile names only known rules', async () => {
    const ids = new Set(RULES.map((r) => r.id));
    for (const p of Object.values(PROFILES)) for (const id of p.items) expect(ids.has(id), `${p.name}: ${id}`).toBe(true);
    const guest = await inspectRoot('root', memFs({}), layout, () => Promise.reject(new Error('none')));
    expect((await runItem(ctxFor(guest), PROFILES.generic!, 'linux.nonexistent')).verdict).toBe('ERROR');
  });

  it('skips the Linux items when the disk holds no Linux root, and says why', async () => {
    const ctx: CheckContext = { image: { label: 'mem', format: 'raw', files: [], fileSize: 0, findings: [] }, layout, noGuest: { verdict: 'SKIPPED', reason: 'no Linux root; p2 holds NTFS' }, memo: memoiser() };
    const o = await runItem(ctx, PROFILES.alibaba!, 'linux.ssh');
    expect(o).toMatchObject({ verdict: 'SKIPPED', description: 'no Linux root; p2 holds NTFS' });
  });

  it('stops with E_ABORTED when its signal fires', async () => {
    const { check } = await import('../../src/check/index.js');
    const { fromBytes } = await import('../../src/index.js');
    const controller = new AbortController();
    controller.abort();
    await expect(check(fromBytes(new Uint8Array(1 << 20), 'zeros'), { signal: controller.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it('fails an all-zero image on the system item, with the probe as evidence', async () => {
    const { check } = await import('../../src/check/index.js');
    const { fromBytes } = await import('../../src/index.js');
    const r = await check(fromBytes(new Uint8Array(4 << 20), 'zeros.raw'), { profile: 'alibaba' });
    const item = (id: string) => r.check_items.find((i) => i.id === id)!;
    expect(item('image.system').result).toBe('FAILED');
    expect(item('image.system').evidence.length).toBeGreaterThan(0);
    expect(item('linux.ssh').result).toBe('ERROR');
  });
});
