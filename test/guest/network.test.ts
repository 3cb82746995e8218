/**
 * Network configuration parsers on texts in the shapes each tool writes; the fixture guests
 * cover them through inspection (test/guest/guests.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromCloudInitV1, fromIfcfg, fromKeyfile, fromNetplan, fromNetworkd, maskToPrefix, parsePersistentNet } from '../../src/guest/network.js';
import { parseYaml, type YamlValue } from '../../src/guest/parse/yaml.js';

describe('network parsers', () => {
  it('netmasks to prefixes', () => {
    expect(maskToPrefix('255.255.255.0')).toBe(24);
    expect(maskToPrefix('255.255.254.0')).toBe(23);
    expect(maskToPrefix('0.0.0.0')).toBe(0);
    expect(maskToPrefix('255.255.255.255')).toBe(32);
    expect(maskToPrefix('255.0.255.0')).toBeUndefined();
    expect(maskToPrefix('300.0.0.0')).toBeUndefined();
  });

  it('ifcfg: Red Hat dhcp and SUSE static with a prefix in IPADDR', () => {
    expect(fromIfcfg('DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=no\n', '/etc/sysconfig/network-scripts/ifcfg-eth0', false)).toEqual({ name: 'eth0', tool: 'ifcfg', source: '/etc/sysconfig/network-scripts/ifcfg-eth0', ipv4: 'dhcp', addresses: [], onBoot: false });
    expect(fromIfcfg("BOOTPROTO='static'\nIPADDR='192.168.0.2/24'\nSTARTMODE='auto'\n", '/etc/sysconfig/network/ifcfg-eth0', true)).toMatchObject({ name: 'eth0', tool: 'ifcfg-suse', ipv4: 'static', addresses: ['192.168.0.2/24'], onBoot: true });
    expect(fromIfcfg('BOOTPROTO=none\nIPADDR=10.1.1.1\nNETMASK=255.255.0.0\nIPV6ADDR=fd00::1/64\n', '/x/ifcfg-ens3', false)).toMatchObject({ name: 'ens3', ipv4: 'static', ipv6: 'static', addresses: ['10.1.1.1/16', 'fd00::1/64'] });
    expect(fromIfcfg('DEVICE=lo\n', '/x/ifcfg-lo', false)).toBeUndefined();
  });

  it('cloud-init v1 and netplan v2 from YAML (the samples PyYAML read)', () => {
    const v1 = parseYaml(readFileSync(join(import.meta.dirname, 'yaml', 'network-v1.yaml'), 'utf8')) as { network: { config: YamlValue[] } };
    expect(fromCloudInitV1(v1.network.config, 'x')).toEqual([{ name: 'eth0', tool: 'cloud-init', source: 'x', ipv4: 'static', ipv6: 'dhcp', addresses: ['192.168.1.10/24'], gateway: '192.168.1.1', mac: 'fa:16:3e:aa:bb:cc' }]);
    expect(fromNetplan(parseYaml('network:\n  version: 2\n  ethernets:\n    id0:\n      match: {name: "en*"}\n      dhcp4: true\n      gateway4: 10.0.0.1\n'), 'y', 'netplan')).toEqual([{ name: 'name:en*', tool: 'netplan', source: 'y', ipv4: 'dhcp', addresses: [], gateway: '10.0.0.1' }]);
  });

  it('NetworkManager keyfiles, networkd files and persistent-net rules', () => {
    expect(fromKeyfile('[connection]\nid=x\ntype=ethernet\n[ethernet]\nmac-address=AA:BB:CC:DD:EE:FF\n[ipv4]\nmethod=auto\n', 'k')).toEqual({ name: 'mac:aa:bb:cc:dd:ee:ff', tool: 'networkmanager', source: 'k', ipv4: 'dhcp', addresses: [], mac: 'aa:bb:cc:dd:ee:ff' });
    expect(fromNetworkd('[Match]\nName=en*\n[Network]\nAddress=10.0.0.2/8\nGateway=10.0.0.1\nDHCP=ipv6\n', 'n')).toEqual({ name: 'name:en*', tool: 'networkd', source: 'n', ipv4: 'static', ipv6: 'dhcp', addresses: ['10.0.0.2/8'], gateway: '10.0.0.1' });
    expect(parsePersistentNet('# c\nSUBSYSTEM=="net", ATTR{address}=="AA:BB:CC:00:11:22", NAME="eth0"\nSUBSYSTEM=="net", NAME="eth9"\n', 'r')).toEqual([{ name: 'eth0', mac: 'aa:bb:cc:00:11:22', source: 'r' }]);
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        fromIfcfg(s, '/x/ifcfg-a', false);
        fromKeyfile(s, 'k');
        fromNetworkd(s, 'n');
        parsePersistentNet(s, 'r');
      }),
    );
  });
});
