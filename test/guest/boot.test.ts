/**
 * Boot loader configuration, sshd_config, services and account files on texts and trees built
 * here in the shapes the tools write (grub-mkconfig, BLS entries as kernel-install writes them,
 * GRUB legacy's menu.lst); the fixture guests cover the same against the real tools' facts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bzImageVersion } from '../../src/guest/boot.js';
import { compareVersions, parseBlsEntry, parseGrubCfg, parseGrubEnv, parseMenuLst, sortBlsEntries } from '../../src/guest/parse/grub.js';
import { effective, parseSshdConfig } from '../../src/guest/parse/sshd.js';
import { parseAdjtime, parsePasswd, parseShadow } from '../../src/guest/parse/accounts.js';
import { Services } from '../../src/guest/services.js';
import { memFs } from '../helpers/memfs.js';

describe('grub.cfg', () => {
  const cfg = `
set default="1>1"
menuentry 'First' --id first { linux /vmlinuz-a root=/dev/sda1 ro; initrd /initrd-a }
submenu 'More' --id more {
  menuentry 'Second' { linux /vmlinuz-b quiet }
  menuentry "Third \\"quoted\\"" --id third {
    set root='hd0,msdos1'
    linuxefi /vmlinuz-c console=ttyS0
    initrdefi /initrd-c /microcode.img
  }
}
`;
  it('picks the default by position through submenus, by title and by id', () => {
    const c = parseGrubCfg(cfg);
    expect(c.entries.map((e) => e.title)).toEqual(['First', 'Second', 'Third "quoted"']);
    expect(c.defaultEntry?.title).toBe('Third "quoted"');
    expect(c.defaultEntry).toMatchObject({ kernel: '/vmlinuz-c', args: 'console=ttyS0', initrd: ['/initrd-c', '/microcode.img'], root: 'hd0,msdos1', path: ['More'] });
    expect(parseGrubCfg(cfg.replace('1>1', 'First')).defaultEntry?.title).toBe('First');
    expect(parseGrubCfg(cfg.replace('1>1', 'more>third')).defaultEntry?.title).toBe('Third "quoted"');
    expect(parseGrubCfg(cfg.replace('1>1', '1')).defaultEntry?.title).toBe('Second');
    expect(parseGrubCfg(cfg.replace('1>1', '7')).defaultEntry).toBeUndefined();
    expect(parseGrubCfg(cfg.replace('set default="1>1"', '')).defaultEntry?.title).toBe('First');
  });

  it('takes saved_entry from the environment block, and next_entry before it', () => {
    const text = `if [ -s $prefix/grubenv ]; then load_env; fi
if [ "\${next_entry}" ] ; then
  set default="\${next_entry}"
else
  set default="\${saved_entry}"
fi
menuentry 'A' { linux /a }
menuentry 'B' { linux /b }`;
    const env = parseGrubEnv('# GRUB Environment Block\nsaved_entry=B\n' + '#'.repeat(900));
    const exists = (p: string) => p === '/boot/grub/grubenv';
    expect(parseGrubCfg(text, { env, exists }).defaultEntry?.title).toBe('B');
    // Without the file, load_env does not run: default is empty, and empty names no entry.
    expect(parseGrubCfg(text, { env }).defaultSetting).toBe('');
    expect(parseGrubCfg(text, { env: new Map([...env, ['next_entry', 'A']]), exists }).defaultEntry?.title).toBe('A');
  });

  it('records unknown commands and unbalanced blocks, and never throws or runs away', () => {
    const c = parseGrubCfg('frobnicate now\nmenuentry "x" {\n linux /k\n');
    expect(c.notes.map((n) => n.message)).toEqual(expect.arrayContaining(['unknown command "frobnicate"', 'the file ends inside a block']));
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        parseGrubCfg(s, { maxCommands: 1000 });
      }),
    );
    fc.assert(fc.property(fc.array(fc.constantFrom('if [ a ]; then', 'fi', 'else', 'menuentry x {', '}', 'submenu y {', 'set default=0', 'linux /k'), { maxLength: 60 }), (lines) => void parseGrubCfg(lines.join('\n'))));
  });

  it('reads BLS entries, sorted newest first, with grubenv variables in options', () => {
    const a = parseBlsEntry('title Rocky Linux (4.18.0-477.el8.x86_64) 8.8\nversion 4.18.0-477.el8.x86_64\nlinux /vmlinuz-4.18.0-477.el8.x86_64\ninitrd /initramfs-4.18.0-477.el8.x86_64.img $tuned_initrd\noptions $kernelopts $tuned_params\n', 'abc-4.18.0-477.el8.x86_64', new Map([['kernelopts', 'root=/dev/mapper/rl-root ro']]));
    expect(a).toMatchObject({ title: 'Rocky Linux (4.18.0-477.el8.x86_64) 8.8', kernel: '/vmlinuz-4.18.0-477.el8.x86_64', args: 'root=/dev/mapper/rl-root ro' });
    const b = parseBlsEntry('title old\nlinux /vmlinuz-4.18.0-80.el8.x86_64\n', 'abc-4.18.0-80.el8.x86_64');
    const c = parseBlsEntry('title rescue\nlinux /vmlinuz-0-rescue\n', 'abc-0-rescue-abc');
    expect(sortBlsEntries([b, c, a]).map((e) => e.id)).toEqual(['abc-4.18.0-477.el8.x86_64', 'abc-4.18.0-80.el8.x86_64', 'abc-0-rescue-abc']);
    expect(compareVersions('5.10.0-9-amd64', '6.1.0-13-amd64')).toBeLessThan(0);
    expect(compareVersions('3.10.0-1160.el7', '3.10.0-957.el7')).toBeGreaterThan(0);
  });

  it('reads GRUB legacy menu.lst', () => {
    const c = parseMenuLst('default=1\ntimeout=5\ntitle CentOS (2.6.32-754.el6.x86_64)\n\troot (hd0,0)\n\tkernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/mapper/vg-root\n\tinitrd /initramfs-2.6.32-754.el6.x86_64.img\ntitle Other\n\tkernel /vmlinuz-2.6.32-696.el6.x86_64 ro\n');
    expect(c.entries).toHaveLength(2);
    expect(c.defaultEntry).toMatchObject({ title: 'Other', kernel: '/vmlinuz-2.6.32-696.el6.x86_64', args: 'ro' });
    expect(parseMenuLst('title A\nkernel /k\n').defaultEntry?.title).toBe('A');
  });
});

describe('bzImage version', () => {
  it('reads the version only from a complete setup header', () => {
    const b = new Uint8Array(4096);
    b.set([0x48, 0x64, 0x72, 0x53], 0x202);
    b.set([0x0f, 0x02], 0x206);
    b.set([0xc0, 0x03], 0x20e);
    b.set(new TextEncoder().encode('6.1.0-13-amd64 (x) #1\0'), 0x5c0);
    expect(bzImageVersion(b)).toBe('6.1.0-13-amd64 (x) #1');
    expect(bzImageVersion(b.subarray(0, 0x5c8))).toBeUndefined();
    const old = b.slice();
    old.set([0x01, 0x02], 0x206);
    expect(bzImageVersion(old)).toBe('6.1.0-13-amd64 (x) #1');
    const notHdrS = b.slice();
    notHdrS[0x202] = 0;
    expect(bzImageVersion(notHdrS)).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (x) => void bzImageVersion(x)));
  });
});

describe('sshd_config', () => {
  const files: Record<string, string> = {
    '/etc/ssh/sshd_config.d/10-a.conf': 'PasswordAuthentication no\nPort 2222\n',
    '/etc/ssh/sshd_config.d/20-b.conf': 'PasswordAuthentication yes\nPermitRootLogin no\n',
  };
  const access = {
    read: async (p: string) => files[p],
    glob: async (pattern: string) => Object.keys(files).filter((p) => p.startsWith(pattern.slice(0, pattern.indexOf('*')))).sort(),
  };
  it('reads includes where they stand, keeps the first value, accumulates ports, leaves Match blocks out', async () => {
    const c = await parseSshdConfig('Include sshd_config.d/*.conf\nPort 22\nPermitRootLogin yes\nUseDNS=yes\nMatch Address 10.0.0.0/8\n  PermitRootLogin yes\n  PasswordAuthentication no\n', access);
    expect(c.files).toEqual(['/etc/ssh/sshd_config', '/etc/ssh/sshd_config.d/10-a.conf', '/etc/ssh/sshd_config.d/20-b.conf']);
    expect(effective(c, 'PasswordAuthentication')).toBe('no');
    expect(effective(c, 'permitrootlogin')).toBe('no');
    expect(c.values.get('port')).toEqual(['2222', '22']);
    expect(effective(c, 'UseDNS')).toBe('yes');
    expect(c.matches).toEqual([{ criteria: 'Address 10.0.0.0/8', file: '/etc/ssh/sshd_config', line: 5, keywords: ['permitrootlogin', 'passwordauthentication'] }]);
    const empty = await parseSshdConfig('', access);
    expect(effective(empty, 'PermitRootLogin')).toBe('without-password');
    expect(effective(empty, 'usedns')).toBe('no');
  });

  it('stops includes that multiply: a file including itself twice at every level', async () => {
    const twice = { read: async () => 'Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\n', glob: async () => [] };
    const t = performance.now();
    const c = await parseSshdConfig('Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config\n', twice);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(c.files.length).toBeLessThanOrEqual(258);
    expect(c.notes.some((n) => /more than 256 files included/.test(n.message))).toBe(true);
  });

  it('stops an Include that includes itself', async () => {
    const loop = { read: async () => 'Include /etc/ssh/sshd_config\n', glob: async () => [] };
    const c = await parseSshdConfig('Include /etc/ssh/sshd_config\n', loop);
    expect(c.notes.some((n) => /nested/.test(n.message))).toBe(true);
  });
});

describe('services', () => {
  const svc = (target: string) => ({ type: 'symlink' as const, target });
  const fs = memFs({
    '/etc': { type: 'directory' },
    '/etc/systemd': { type: 'directory' },
    '/etc/systemd/system': { type: 'directory' },
    '/etc/systemd/system/multi-user.target.wants': { type: 'directory' },
    '/etc/systemd/system/multi-user.target.wants/ssh.service': svc('/lib/systemd/system/ssh.service'),
    '/etc/systemd/system/sshd.service': svc('/lib/systemd/system/ssh.service'),
    '/etc/systemd/system/ufw.service': svc('/dev/null'),
    '/etc/systemd/system/getty.target.wants': { type: 'directory' },
    '/etc/systemd/system/getty.target.wants/serial-getty@ttyS1.service': svc('/lib/systemd/system/serial-getty@.service'),
    '/usr': { type: 'directory' },
    '/usr/lib': { type: 'directory' },
    '/usr/lib/systemd': { type: 'directory' },
    '/usr/lib/systemd/system': { type: 'directory' },
    '/usr/lib/systemd/system/ssh.service': { type: 'file', data: '[Unit]' },
    '/usr/lib/systemd/system/ufw.service': { type: 'file', data: '[Unit]' },
    '/usr/lib/systemd/system/serial-getty@.service': { type: 'file', data: '[Unit]' },
    '/usr/lib/systemd/system/cloud-init.service': { type: 'file', data: '[Unit]' },
    '/etc/init': { type: 'directory' },
    '/etc/init/tty.conf': { type: 'file', data: 'start on runlevel [23]\nexec /sbin/getty\n' },
    '/etc/init/old.conf': { type: 'file', data: 'exec /bin/old\n' },
    '/etc/init/old.override': { type: 'file', data: 'manual\n' },
    '/etc/init.d': { type: 'directory' },
    '/etc/init.d/iptables': { type: 'file', data: '#!/bin/sh' },
    '/etc/rc3.d': { type: 'directory' },
    '/etc/rc3.d/K92iptables': svc('../init.d/iptables'),
  });
  const s = new Services(fs);
  it.each([
    ['sshd', 'enabled', 'ssh.service'],
    ['ssh.service', 'enabled', 'ssh.service'],
    ['ufw', 'masked', 'ufw.service'],
    ['serial-getty@ttyS1', 'enabled', 'serial-getty@ttyS1.service'],
    ['serial-getty@ttyS0', 'disabled', 'serial-getty@ttyS0.service'],
    ['cloud-init', 'disabled', 'cloud-init.service'],
    ['firewalld', 'absent', undefined],
  ])('%s is %s (systemd)', async (name, state, unit) => {
    const got = await s.state(name);
    expect(got.state).toBe(state);
    expect(got.unit).toBe(unit);
  });
  it('reads upstart jobs and SysV links', async () => {
    expect((await s.state('tty')).state).toBe('enabled');
    expect((await s.state('old')).state).toBe('disabled');
    expect(await s.state('iptables')).toMatchObject({ state: 'disabled', via: 'sysv' });
  });
});

describe('account files', () => {
  it('reads passwd and shadow without keeping hashes', () => {
    expect(parsePasswd('root:x:0:0:root:/root:/bin/bash\n+::::::\nbad line\n').entries).toEqual([{ name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash', line: 1 }]);
    expect(parsePasswd('bad line\n').bad).toEqual([1]);
    const shadow = parseShadow('root:$6$s$h:19000:0:99999:7:::\nlocked:!$6$s$h:19000::::::\nnone:*:19000::::::\nempty::0::::::\n');
    expect(shadow.entries.map((e) => [e.name, e.password, e.lastChange])).toEqual([
      ['root', 'set', 19000],
      ['locked', 'locked', 19000],
      ['none', 'no-password', 19000],
      ['empty', 'empty', 0],
    ]);
    expect(JSON.stringify(shadow)).not.toContain('$6$');
    expect(parseAdjtime('0.0 0 0.0\n0\nLOCAL\n')).toBe('LOCAL');
    expect(parseAdjtime('0.0 0 0.0\n0\n')).toBeUndefined();
  });
});
