/**
 * The pure parsers of guest inspection against texts in the shapes distributions write, and
 * against the shell: os-release is read here as `sh` reads it (the expected values are what
 * `. ./os-release; echo "$NAME"` prints for each line).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseShellVars, unquote } from '../../src/guest/parse/shell-vars.js';
import { parseFstab, parseSpec } from '../../src/guest/parse/fstab.js';
import { fromOsRelease, fromReleaseLine, identify } from '../../src/guest/identity.js';
import { elfArch } from '../../src/guest/elf.js';
import { splitMapperName } from '../../src/guest/devices.js';
import { parseApkInstalled, parseDpkgStatus, parsePacmanDesc } from '../../src/guest/packages.js';

describe('shell-style assignments', () => {
  it('reads values as sh does: quotes, escapes, comments, export', () => {
    const { vars, unparsed } = parseShellVars(
      [
        'A=plain',
        'B="double quoted $NOT_EXPANDED"',
        "C='single \\n quoted'",
        'D="escaped \\" quote and \\\\ backslash"',
        'export E=exported',
        '# a comment',
        'F=value # trailing comment',
        'G=',
        'not an assignment',
        'H="unclosed',
        'A=again',
      ].join('\n'),
    );
    expect(vars.get('A')).toEqual({ value: 'again', line: 11 });
    expect(vars.get('B')?.value).toBe('double quoted $NOT_EXPANDED');
    expect(vars.get('C')?.value).toBe('single \\n quoted');
    expect(vars.get('D')?.value).toBe('escaped " quote and \\ backslash');
    expect(vars.get('E')?.value).toBe('exported');
    expect(vars.get('F')?.value).toBe('value');
    expect(vars.get('G')?.value).toBe('');
    expect(unparsed.map((u) => u.line)).toEqual([9, 10]);
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseShellVars(s);
        unquote(s);
      }),
    );
  });
});

describe('fstab', () => {
  it('parses entries with line numbers, escapes and tags, and records the lines that are not entries', () => {
    const fstab = parseFstab(
      [
        '# comment',
        'UUID=1234-ABCD /boot/efi vfat umask=0077 0 1',
        'LABEL=My\\040Data /mnt/my\\040data ext4 defaults,nofail',
        '/dev/mapper/vg-root / xfs defaults 0 0',
        'garbage here',
        'PARTUUID="abc" /x ext4 ro 0 2 # trailing',
        '',
      ].join('\n'),
    );
    expect(fstab.entries.map((e) => [e.line, e.spec, e.mountpoint, e.type, e.options, e.freq, e.passno])).toEqual([
      [2, { kind: 'uuid', value: '1234-ABCD' }, '/boot/efi', 'vfat', ['umask=0077'], 0, 1],
      [3, { kind: 'label', value: 'My Data' }, '/mnt/my data', 'ext4', ['defaults', 'nofail'], 0, 0],
      [4, { kind: 'path', value: '/dev/mapper/vg-root' }, '/', 'xfs', ['defaults'], 0, 0],
      [6, { kind: 'partuuid', value: 'abc' }, '/x', 'ext4', ['ro'], 0, 2],
    ]);
    expect(fstab.unparsed).toEqual([{ line: 5, text: 'garbage here', reason: '2 fields, at least 4 expected' }]);
    expect(parseSpec('tmpfs')).toEqual({ kind: 'other', value: 'tmpfs' });
  });

  it('never throws on any text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => void parseFstab(s)));
  });
});

describe('identity', () => {
  it('reads os-release, taking the point release from debian_version', () => {
    const os = ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"', 'NAME="Debian GNU/Linux"', 'VERSION_ID="12"', 'VERSION_CODENAME=bookworm', 'ID=debian'].join('\n');
    expect(fromOsRelease(os)).toMatchObject({ distro: 'debian', name: 'Debian GNU/Linux', version: '12', major: 12, codename: 'bookworm' });
    const id = identify(
      new Map([
        ['/etc/os-release', os],
        ['/etc/debian_version', '12.4\n'],
      ]),
    );
    expect(id).toMatchObject({ distro: 'debian', version: '12.4', major: 12, minor: 4, source: '/etc/os-release' });
  });

  it('falls back to the release files', () => {
    expect(fromReleaseLine('CentOS Linux release 7.9.2009 (Core)\n', '/etc/centos-release')).toMatchObject({ distro: 'centos', version: '7.9.2009', major: 7, minor: 9, codename: 'Core' });
    expect(fromReleaseLine('Red Hat Enterprise Linux Server release 6.10 (Santiago)', '/etc/redhat-release')).toMatchObject({ distro: 'rhel', major: 6, minor: 10 });
    expect(fromReleaseLine('Rocky Linux release 9.2 (Blue Onyx)', '/etc/rocky-release')).toMatchObject({ distro: 'rocky', major: 9, minor: 2 });
    expect(fromReleaseLine('Gentoo Base System release 2.14', '/etc/gentoo-release')).toMatchObject({ distro: 'gentoo', version: '2.14' });
    expect(identify(new Map([['/etc/SuSE-release', 'SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n']]))).toMatchObject({ distro: 'sles', version: '11.4' });
    expect(identify(new Map([['/etc/lsb-release', 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n']]))).toMatchObject({ distro: 'ubuntu', major: 14, minor: 4, codename: 'trusty' });
    expect(identify(new Map([['/etc/alpine-release', '3.18.4\n']]))).toMatchObject({ distro: 'alpine', version: '3.18.4' });
    expect(identify(new Map([['/etc/arch-release', '']]))).toMatchObject({ distro: 'arch' });
    expect(identify(new Map([['/etc/debian_version', 'trixie/sid\n']]))).toMatchObject({ distro: 'debian', codename: 'trixie' });
    expect(identify(new Map())).toEqual({ distro: 'unknown', like: [] });
    // An os-release without ID or NAME says nothing: the next file decides.
    expect(identify(new Map([['/etc/os-release', '# empty\n'], ['/etc/alpine-release', '3.19.0']]))).toMatchObject({ distro: 'alpine' });
  });
});

describe('ELF architecture', () => {
  const header = (cls: number, data: number, machine: number) => {
    const b = new Uint8Array(64);
    b.set([0x7f, 0x45, 0x4c, 0x46, cls, data, 1]);
    if (data === 1) b.set([machine & 0xff, machine >> 8], 18);
    else b.set([machine >> 8, machine & 0xff], 18);
    return b;
  };
  it('names machines by class and byte order', () => {
    expect(elfArch(header(2, 1, 62))).toEqual({ arch: 'x86_64', bits: 64, endian: 'little', machine: 62 });
    expect(elfArch(header(1, 1, 3))?.arch).toBe('i386');
    expect(elfArch(header(2, 1, 183))?.arch).toBe('aarch64');
    expect(elfArch(header(2, 1, 21))?.arch).toBe('ppc64le');
    expect(elfArch(header(2, 2, 21))?.arch).toBe('ppc64');
    expect(elfArch(header(2, 2, 22))?.arch).toBe('s390x');
    expect(elfArch(header(2, 1, 243))?.arch).toBe('riscv64');
    expect(elfArch(new Uint8Array([0x7f, 0x45, 0x4c]))).toBeUndefined();
    expect(elfArch(new TextEncoder().encode('#!/bin/sh\necho not elf\n'))).toBeUndefined();
  });
});

describe('device-mapper names', () => {
  it('splits vg-lv with doubled dashes inside names', () => {
    expect(splitMapperName('centos-root')).toEqual(['centos', 'root']);
    expect(splitMapperName('my--vg-my--lv')).toEqual(['my-vg', 'my-lv']);
    expect(splitMapperName('luks-1234')).toEqual(['luks', '1234']);
    expect(splitMapperName('nodash')).toBeUndefined();
  });
});

describe('package databases', () => {
  it('dpkg: only installed packages; continuation lines are not fields', () => {
    const status = [
      'Package: a\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nDescription: thing\n Version: not a field\n',
      'Package: gone\nStatus: deinstall ok config-files\nVersion: 2\n',
      'Package: half\nStatus: install reinstreq half-installed\nVersion: 3\n',
      'Package: b\nStatus: hold ok installed\nVersion: 1:2.3\n',
    ].join('\n');
    expect(parseDpkgStatus(status)).toEqual([
      { name: 'a', version: '1.0-1', arch: 'amd64' },
      { name: 'b', version: '1:2.3' },
    ]);
  });
  it('apk and pacman records', () => {
    expect(parseApkInstalled('P:musl\nV:1.2.4-r2\nA:x86_64\n\nP:nover\n\nP:b\nV:1\n')).toEqual([
      { name: 'musl', version: '1.2.4-r2', arch: 'x86_64' },
      { name: 'b', version: '1' },
    ]);
    expect(parsePacmanDesc('%NAME%\nlinux\n\n%VERSION%\n6.6.1.arch1-1\n\n%ARCH%\nx86_64\n')).toEqual({ name: 'linux', version: '6.6.1.arch1-1', arch: 'x86_64' });
    expect(parsePacmanDesc('%NAME%\nx\n')).toBeUndefined();
  });
  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseDpkgStatus(s);
        parseApkInstalled(s);
        parsePacmanDesc(s);
      }),
    );
  });
});
