/**
 * Guest inspection on a file-backed qcow2 image of a 2 GiB guest (issue #7's target: under
 * 300 ms and under 32 MiB read from the image), beside libguestfs's virt-inspector on the same
 * image. The guest is built once in bench/.work: a GPT disk with /boot (this machine's own
 * kernel, initramfs and config) and / on ext4, the root filled from this machine's /etc and a
 * large part of /usr with `mkfs.ext4 -d`, an fstab by UUID and a grub.cfg in grub-mkconfig's
 * shape; stored as an uncompressed qcow2, as most uploads are.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect, openDisk, type BlockDevice } from '../src/index.js';
import { nodeCodecs, openFile } from '../src/node/index.js';
import { have, median } from './util.js';

const MiB = 1 << 20;

/** Builds the guest image; returns its path, or undefined when the tools are missing. */
export function makeGuest(work: string, diskBytes: number, rootContent: string[], bootMiB: number): string | undefined {
  const image = join(work, `guest-${diskBytes}.qcow2`);
  if (existsSync(image)) return image;
  for (const t of ['sfdisk', 'mkfs.ext4', 'qemu-img', 'rsync']) if (!have(t)) return undefined;
  const stage = join(work, 'guest-stage');
  rmSync(stage, { recursive: true, force: true });
  const root = join(stage, 'root');
  const boot = join(stage, 'boot');
  mkdirSync(join(root, 'usr'), { recursive: true });
  mkdirSync(join(boot, 'grub'), { recursive: true });
  execFileSync('rsync', ['-a', '--exclude', 'fstab', '/etc', root]);
  for (const dir of rootContent) execFileSync('rsync', ['-a', '--relative', dir, root], { stdio: 'ignore' });
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) execFileSync('ln', ['-sfn', `usr/${l}`, join(root, l)]);
  mkdirSync(join(root, 'boot'), { recursive: true });
  const kernels = readdirSync('/boot').filter((n) => /^(vmlinuz|initrd\.img|config|System\.map)-/.test(n));
  for (const k of kernels) execFileSync('cp', [join('/boot', k), boot]);
  const version = kernels.find((k) => k.startsWith('vmlinuz-'))?.slice('vmlinuz-'.length) ?? 'unknown';
  const rootUuid = '0b5e0000-0000-4000-8000-0000000000f2';
  const bootUuid = '0b5e0000-0000-4000-8000-0000000000b1';
  writeFileSync(join(root, 'etc/fstab'), `UUID=${rootUuid} / ext4 errors=remount-ro 0 1\nUUID=${bootUuid} /boot ext4 defaults 0 2\n`);
  writeFileSync(
    join(boot, 'grub/grub.cfg'),
    `set default="0"\nif [ x"\${feature_menuentry_id}" = xy ]; then\n  menuentry_id_option="--id"\nelse\n  menuentry_id_option=""\nfi\n` +
      `menuentry 'Debian GNU/Linux' --class debian \$menuentry_id_option 'gnulinux-simple-${rootUuid}' {\n\tsearch --no-floppy --fs-uuid --set=root ${bootUuid}\n\tlinux /vmlinuz-${version} root=UUID=${rootUuid} ro console=ttyS0\n\tinitrd /initrd.img-${version}\n}\n`,
  );
  const raw = join(work, 'guest.raw');
  execFileSync('truncate', ['-s', String(diskBytes), raw]);
  execFileSync('sfdisk', ['-q', raw], { input: `label: gpt\nstart=2048, size=${bootMiB}M, type=linux\ntype=linux\n` });
  const parts = JSON.parse(execFileSync('sfdisk', ['--json', raw], { encoding: 'utf8' })) as { partitiontable: { partitions: { start: number; size: number }[] } };
  const [p1, p2] = parts.partitiontable.partitions;
  const fsImage = (part: { start: number; size: number }, tree: string, uuid: string) => {
    const file = join(work, 'guest-part.raw');
    rmSync(file, { force: true });
    execFileSync('truncate', ['-s', String(part.size * 512), file]);
    execFileSync('mkfs.ext4', ['-q', '-F', '-U', uuid, '-d', tree, file]);
    execFileSync('dd', [`if=${file}`, `of=${raw}`, 'bs=4M', `seek=${part.start * 512}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
    rmSync(file, { force: true });
  };
  fsImage(p1!, boot, bootUuid);
  fsImage(p2!, root, rootUuid);
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, image]);
  rmSync(raw, { force: true });
  rmSync(stage, { recursive: true, force: true });
  return image;
}

/** A device that counts the bytes read through it. */
export function counting(dev: BlockDevice): { dev: BlockDevice; bytes: () => number; reads: () => number } {
  let bytes = 0;
  let reads = 0;
  const wrapped: BlockDevice = {
    size: dev.size,
    label: dev.label,
    ...(dev.path === undefined ? {} : { path: dev.path }),
    read: async (offset, length, signal) => {
      reads++;
      bytes += length;
      return dev.read(offset, length, signal);
    },
    readInto: async (offset, target, signal) => {
      reads++;
      bytes += target.length;
      if (dev.readInto) return dev.readInto(offset, target, signal);
      target.set(await dev.read(offset, target.length, signal));
    },
  };
  return { dev: wrapped, bytes: () => bytes, reads: () => reads };
}

export async function benchInspect(work: string, quick: boolean, runs: number): Promise<string[]> {
  const diskBytes = quick ? 512 * MiB : 2048 * MiB;
  // About 0.7 GiB of files (many small ones among them) on the 1.75 GiB root.
  const content = quick ? ['/usr/sbin'] : ['/usr/bin', '/usr/sbin', '/usr/lib/python3', '/usr/share/doc', '/usr/share/man', '/usr/share/locale', '/usr/share/perl'];
  const image = makeGuest(work, diskBytes, content, quick ? 96 : 256);
  if (!image) return ['| (sfdisk, mkfs.ext4, qemu-img or rsync missing: the guest image cannot be made) | | | | |'];
  const times: number[] = [];
  let bytes = 0;
  let reads = 0;
  let summary = '';
  for (let i = 0; i < runs; i++) {
    const file = await openFile(image);
    const c = counting(file);
    const started = performance.now();
    const disk = await openDisk(c.dev, { codecs: nodeCodecs });
    const { guests } = await inspect(disk);
    times.push(performance.now() - started);
    bytes = c.bytes();
    reads = c.reads();
    const g = guests.find((x) => x.os === 'linux');
    summary = g ? `${g.identity.distro} ${g.identity.version ?? ''}, ${g.kernels.length} kernel(s), ${g.mounts.filter((m) => m.status === 'mounted').length} mounts, ${g.services.length} services` : 'no guest found';
    await file.close();
  }
  const rows = [`| diskprobe inspect | ${median(times).toFixed(0)} ms | ${(bytes / MiB).toFixed(1)} MiB in ${reads} reads | ${summary} |`];
  // The same with the default kernel's initramfs listed (what the virtio checks need).
  {
    const withInitrd: number[] = [];
    let b = 0;
    let r = 0;
    let note = '';
    for (let i = 0; i < runs; i++) {
      const file = await openFile(image);
      const c = counting(file);
      const started = performance.now();
      const disk = await openDisk(c.dev, { codecs: nodeCodecs });
      const { guests } = await inspect(disk, { initramfs: true });
      withInitrd.push(performance.now() - started);
      b = c.bytes();
      r = c.reads();
      const l0 = guests.find((x) => x.os === 'linux');
      const i0 = l0?.initramfs;
      note = i0 ? `${i0.files} files (${i0.compression.join(' + ')}), ${i0.modules.length} modules` : 'no initramfs listed';
      await file.close();
    }
    rows.push(`| diskprobe inspect --initramfs | ${median(withInitrd).toFixed(0)} ms | ${(b / MiB).toFixed(1)} MiB in ${r} reads | ${note} |`);
  }
  if (have('lsinitramfs')) {
    const initrd = readdirSync('/boot').find((n) => n.startsWith('initrd.img-'));
    if (initrd) {
      const started = performance.now();
      const r = spawnSync('lsinitramfs', [join('/boot', initrd)], { encoding: 'utf8', maxBuffer: 1 << 26 });
      rows.push(`| lsinitramfs of the same initramfs (a file on the host, not in the image) | ${(performance.now() - started).toFixed(0)} ms | — | ${(r.stdout ?? '').split('\n').filter(Boolean).length} entries |`);
    }
  }
  // Not in the smoke run: the appliance takes tens of seconds to boot.
  if (!quick && have('virt-inspector')) {
    const started = performance.now();
    const r = spawnSync('virt-inspector', ['--format=qcow2', '-a', image, '--no-applications', '--no-icon'], {
      encoding: 'utf8',
      env: { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: process.env.LIBGUESTFS_BACKEND_SETTINGS ?? 'force_tcg' },
    });
    const ms = performance.now() - started;
    const distro = /<distro>([^<]*)<\/distro>/.exec(r.stdout ?? '')?.[1];
    rows.push(`| virt-inspector (libguestfs, appliance under qemu TCG) | ${ms.toFixed(0)} ms | — | ${r.status === 0 ? `distro ${distro ?? '?'}` : `failed: ${(r.stderr ?? '').split('\n')[0]}`} |`);
  }
  return rows;
}
