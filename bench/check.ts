/**
 * `diskprobe check --profile all --no-md5` on a file-backed qcow2 image of a Linux guest with a
 * 20 GiB virtual disk (issue #8's targets: under 1 s for the whole CLI process, at least 20×
 * faster than virt-inspector on the same image, under 64 MiB read from the image), beside
 * virt-inspector in the same run. The guest is bench/inspect.ts's (this machine's kernel,
 * initramfs and config, /etc and part of /usr), on a 20 GiB disk.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { check, type CheckReport } from '../src/check/index.js';
import { openDisk } from '../src/index.js';
import { digestFiles, nodeCodecs, openFile } from '../src/node/index.js';
import { counting, makeGuest } from './inspect.js';
import { have, median } from './util.js';

const MiB = 1 << 20;
const GiB = 1 << 30;

/** check() in process on an image file, `runs` times: the median time, bytes and reads of the last run, and its report. */
async function inProcess(image: string, runs: number): Promise<{ ms: number; bytes: number; reads: number; report: CheckReport }> {
  const times: number[] = [];
  let bytes = 0;
  let reads = 0;
  let report: CheckReport | undefined;
  for (let i = 0; i < runs; i++) {
    const file = await openFile(image);
    const c = counting(file);
    const started = performance.now();
    const disk = await openDisk(c.dev, { codecs: nodeCodecs });
    report = await check(disk, { profile: 'all', digestSkipped: '--no-md5' });
    times.push(performance.now() - started);
    bytes = c.bytes();
    reads = c.reads();
    await file.close();
  }
  return { ms: median(times), bytes, reads, report: report! };
}

/** The CLI command to time: the built CLI when dist/ exists, else through tsx. */
function cliCommand(root: string): { cmd: string[]; built: boolean } {
  const built = join(root, 'dist/cli/bin.js');
  return existsSync(built) ? { cmd: ['node', built], built: true } : { cmd: ['npx', 'tsx', join(root, 'src/cli/bin.ts')], built: false };
}

/** `diskprobe check --profile all --no-md5` as a whole process, `runs` times: the median and the last exit code. */
function cliCheck(cmd: string[], image: string, runs: number): { ms: number; status: number } {
  const times: number[] = [];
  let status = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'check', '--profile', 'all', '--no-md5', '--quiet', '--format', 'json', image], { encoding: 'utf8', maxBuffer: 1 << 26 });
    times.push(performance.now() - started);
    status = r.status ?? -1;
  }
  return { ms: median(times), status };
}

export async function benchCheck(work: string, root: string, quick: boolean, runs: number): Promise<string[]> {
  const diskBytes = quick ? 1 * GiB : 20 * GiB;
  const content = quick ? ['/usr/sbin'] : ['/usr/bin', '/usr/sbin', '/usr/lib/python3', '/usr/share/doc', '/usr/share/man', '/usr/share/locale', '/usr/share/perl'];
  const image = makeGuest(work, diskBytes, content, quick ? 96 : 256);
  if (!image) return ['| (sfdisk, mkfs.ext4, qemu-img or rsync missing: the guest image cannot be made) | | | |'];
  const rows: string[] = [];

  // In process: time and bytes read from the image file.
  const p = await inProcess(image, runs);
  const totals = p.report.profiles.reduce((t, x) => ({ ok: t.ok + x.counts.OK, failed: t.failed + x.counts.FAILED, other: t.other + x.counts.WARNING + x.counts.ERROR + x.counts.SKIPPED }), { ok: 0, failed: 0, other: 0 });
  const summary = `${p.report.profiles.length} profiles, ${Object.keys(p.report.matrix ?? {}).length} items: ${totals.ok} OK, ${totals.failed} FAILED, ${totals.other} other`;
  rows.push(`| check() in process, --profile all | ${p.ms.toFixed(0)} ms | ${(p.bytes / MiB).toFixed(1)} MiB in ${p.reads} reads | ${summary} |`);

  // The whole CLI process, as a user runs it.
  const { cmd, built } = cliCommand(root);
  const { ms: cliMs, status } = cliCheck(cmd, image, runs);
  rows.push(`| diskprobe check --profile all --no-md5 (whole process${built ? ', dist/' : ', tsx'}) | ${cliMs.toFixed(0)} ms | — | exit ${status} |`);

  // Not in the smoke run: the appliance takes tens of seconds to boot.
  if (!quick && have('virt-inspector')) {
    const started = performance.now();
    const r = spawnSync('virt-inspector', ['--format=qcow2', '-a', image, '--no-applications', '--no-icon'], {
      encoding: 'utf8',
      env: { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: process.env.LIBGUESTFS_BACKEND_SETTINGS ?? 'force_tcg' },
    });
    const ms = performance.now() - started;
    const distro = /<distro>([^<]*)<\/distro>/.exec(r.stdout ?? '')?.[1];
    rows.push(`| virt-inspector (libguestfs, appliance under qemu TCG; inspection only, no checks) | ${ms.toFixed(0)} ms | — | ${r.status === 0 ? `distro ${distro ?? '?'}; diskprobe check is ${(ms / cliMs).toFixed(0)}× faster` : `failed: ${(r.stderr ?? '').split('\n')[0]}`} |`);
  }
  return rows;
}

/** MD5 and SHA-256 of a file (image.md5) beside md5sum and sha256sum, from the page cache. */
export async function benchDigest(file: string, runs: number): Promise<string[]> {
  if (!existsSync(file)) return [`| (${file} was not made: nothing to hash) | | | |`];
  const size = statSync(file).size;
  const timeTool = (tool: string) => {
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      spawnSync(tool, [file], { stdio: 'ignore' });
      t.push(performance.now() - started);
    }
    return median(t);
  };
  spawnSync('cat', [file], { stdio: 'ignore' });
  const rows: string[] = [];
  const mb = (ms: number) => `${(size / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
  const md5sum = have('md5sum') ? timeTool('md5sum') : undefined;
  for (const algorithms of [['md5'], ['md5', 'sha256']] as const) {
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await digestFiles([file], { algorithms });
      t.push(performance.now() - started);
    }
    const ms = median(t);
    rows.push(`| diskprobe digestFiles (${algorithms.join(' + ')}) | ${ms.toFixed(0)} ms | ${mb(ms)} | ${md5sum ? `${((md5sum / ms) * 100).toFixed(0)} % of md5sum's speed` : ''} |`);
  }
  if (md5sum !== undefined) rows.push(`| md5sum | ${md5sum.toFixed(0)} ms | ${mb(md5sum)} | |`);
  if (have('sha256sum')) {
    const ms = timeTool('sha256sum');
    rows.push(`| sha256sum | ${ms.toFixed(0)} ms | ${mb(ms)} | |`);
  }
  return rows;
}

/**
 * `diskprobe check --profile all --no-md5` on the Windows fixtures (fixtures/windows.sh; issue
 * #13's target: under 1 s for the whole CLI process), in process and as a process, with the bytes
 * read from the image file; virt-inspector on the same image when it is installed (full runs only).
 */
export async function benchCheckWindows(root: string, quick: boolean, runs: number): Promise<string[]> {
  const rows: string[] = [];
  const { cmd, built } = cliCommand(root);
  for (const name of ['win-good', 'win-bad']) {
    const image = join(root, 'fixtures/windows', `${name}.qcow2`);
    if (!existsSync(image)) {
      rows.push(`| ${name}.qcow2 missing (run fixtures/windows.sh) | | | |`);
      continue;
    }
    const p = await inProcess(image, runs);
    const items = p.report.profiles.flatMap((x) => x.check_items.filter((i) => i.id.startsWith('windows.')));
    const summary = `${p.report.guest?.product ?? '?'}: ${items.length} Windows item results, ${items.filter((i) => i.result === 'FAILED').length} FAILED`;
    rows.push(`| ${name}.qcow2: check() in process, --profile all | ${p.ms.toFixed(0)} ms | ${(p.bytes / MiB).toFixed(1)} MiB in ${p.reads} reads | ${summary} |`);
    const { ms: cliMs, status } = cliCheck(cmd, image, runs);
    rows.push(`| ${name}.qcow2: diskprobe check --profile all --no-md5 (whole process${built ? ', dist/' : ', tsx'}) | ${cliMs.toFixed(0)} ms | — | exit ${status} |`);
    if (!quick && name === 'win-good' && have('virt-inspector')) {
      const started = performance.now();
      const r = spawnSync('virt-inspector', ['--format=qcow2', '-a', image, '--no-icon'], {
        encoding: 'utf8',
        env: { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: process.env.LIBGUESTFS_BACKEND_SETTINGS ?? 'force_tcg' },
      });
      const ms = performance.now() - started;
      const product = /<product_name>([^<]*)<\/product_name>/.exec(r.stdout ?? '')?.[1];
      rows.push(`| ${name}.qcow2: virt-inspector (libguestfs appliance under qemu TCG; inspection only) | ${ms.toFixed(0)} ms | — | ${r.status === 0 ? `${product ?? 'no product found'}; diskprobe check is ${(ms / cliMs).toFixed(0)}× faster` : `failed: ${(r.stderr ?? '').trim().split('\n').pop()}`} |`);
    }
  }
  return rows;
}

/**
 * Issue #15's whole-pipeline rows: peak resident memory of one `diskprobe check` process (GNU
 * time's maximum RSS), a batch of images checked with --jobs 1 and 2 (images per minute), and a
 * check over HTTP of the 20 GiB-virtual guest served by range requests from 127.0.0.1 (bytes
 * and requests fetched against the file's allocated bytes).
 */
export async function benchPipeline(work: string, root: string, quick: boolean, runs: number): Promise<string[]> {
  const rows: string[] = [];
  const { cmd } = cliCommand(root);
  const image = join(work, `guest-${quick ? GiB : 20 * GiB}.qcow2`);
  const fixtures = ['checks/good.qcow2', 'checks/centos-bad.qcow2', 'checks/debian-bad.qcow2', 'checks/uefi-full.qcow2', 'windows/win-good.qcow2', 'windows/win-bad.qcow2', 'windows/win-legacy.qcow2', 'web/good-stream.vmdk'].map((f) => join(root, 'fixtures', f)).filter((f) => existsSync(f));
  // Peak RSS of one check process.
  if (have('/usr/bin/time') && existsSync(image)) {
    const rss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync('/usr/bin/time', ['-f', '%M', ...cmd, 'check', '--profile', 'all', '--no-md5', '--quiet', '--format', 'json', image], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const kb = Number(/(\d+)\s*$/.exec(r.stderr ?? '')?.[1]);
      if (Number.isFinite(kb)) rss.push(kb * 1024);
    }
    if (rss.length) rows.push(`| peak RSS of diskprobe check --profile all --no-md5 on the ${quick ? 1 : 20} GiB guest (whole process) | ${(median(rss) / MiB).toFixed(0)} MiB | — | target under 200 MiB |`);
    const win = join(root, 'fixtures/windows/win-good.qcow2');
    const wrss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync('/usr/bin/time', ['-f', '%M', ...cmd, 'check', '--profile', 'all', '--no-md5', '--quiet', '--format', 'json', win], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const kb = Number(/(\d+)\s*$/.exec(r.stderr ?? '')?.[1]);
      if (Number.isFinite(kb)) wrss.push(kb * 1024);
    }
    if (wrss.length) rows.push(`| peak RSS of the same on the Windows fixture (win-good.qcow2) | ${(median(wrss) / MiB).toFixed(0)} MiB | — | |`);
  }
  // Batch mode over the fixtures.
  for (const jobs of [1, 2]) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      spawnSync(cmd[0]!, [...cmd.slice(1), 'check', '--jobs', String(jobs), '--profile', 'all', '--no-md5', '--format', 'json', ...fixtures], { encoding: 'utf8', maxBuffer: 1 << 28 });
      times.push(performance.now() - started);
    }
    const ms = median(times);
    rows.push(`| diskprobe check --jobs ${jobs} --profile all --no-md5 on ${fixtures.length} fixture images (whole process) | ${ms.toFixed(0)} ms | — | ${((fixtures.length / (ms / 1000)) * 60).toFixed(0)} images per minute |`);
  }
  // A check over HTTP.
  if (existsSync(image)) {
    const { startStaticServer } = await import('../scripts/static-server.js');
    const { fromUrl } = await import('../src/index.js');
    const server = await startStaticServer(work);
    try {
      const times: number[] = [];
      let fetched = 0;
      let requests = 0;
      for (let i = 0; i < runs; i++) {
        const before = server.bytesSent;
        const r0 = server.requests;
        const started = performance.now();
        const dev = await fromUrl(`${server.url}/${image.split('/').pop()}`);
        await check(dev, { profile: 'all', digestSkipped: 'bench' });
        times.push(performance.now() - started);
        fetched = server.bytesSent - before;
        requests = server.requests - r0;
      }
      const allocated = statSync(image).size;
      rows.push(`| check() over HTTP (range requests from 127.0.0.1), --profile all, the ${quick ? 1 : 20} GiB-virtual guest | ${median(times).toFixed(0)} ms | ${(fetched / MiB).toFixed(1)} MiB in ${requests} requests | ${((fetched / allocated) * 100).toFixed(1)} % of the ${(allocated / MiB).toFixed(0)} MiB file (target under 1 %) |`);
    } finally {
      await server.close();
    }
  }
  return rows;
}
