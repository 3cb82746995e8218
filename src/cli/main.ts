/**
 * The diskprobe command line: a thin shell over the public API.
 *
 * Exit codes: 0 the command ran and found nothing wrong; 1 it ran and found a problem (an input
 * is not a usable disk image); 2 usage error, or an input could not be read.
 */
import { probeCommand, PROBE_HELP } from './probe.js';
import { convertCommand, CONVERT_HELP } from './convert.js';
import { infoCommand, INFO_HELP } from './info.js';
import { volumesCommand, VOLUMES_HELP } from './volumes.js';
import { catCommand, CAT_HELP, lsCommand, LS_HELP, statCommand, STAT_HELP } from './files.js';
import { inspectCommand, INSPECT_HELP } from './inspect.js';
import { checkCommand, CHECK_HELP } from './check.js';
import { regCommand, REG_HELP } from './reg.js';
import { EXIT, UsageError, type Io } from './io.js';

const HELP = `diskprobe — look inside virtual machine disk images without mounting them

Usage: diskprobe <command> [options] [arguments]

Commands:
  probe <path|url>...            say what format each input is, with evidence
  info <path|url>                what an image says of itself (header, snapshots, backing chain)
  convert <image> -O raw <out|->  write the guest-visible bytes as a raw image
  volumes <path|url>...          partitions, RAID and LVM volumes, and what each holds
  inspect <image>...             the operating systems inside: distribution, arch, hostname, mounts
  check [--profile P|all] <image|url>  whether each cloud will import, boot and manage it, item by item
  ls [-l] [-R] <image> [path]    list a directory of the guest (or of a filesystem) in an image
  cat <image> <path>             write a file of the guest (or of a filesystem) to standard output
  stat <image> <path>...         what a filesystem records of a path (-f: of itself)
  reg <image|hive> [key] [value]  a Windows registry key or value (--export: as .reg text)

Options:
  -h, --help      show help (also: diskprobe <command> --help)
  -V, --version   show the version

Exit codes: 0 ok; 1 the command ran and found a problem; 2 usage or input error.
`;

const COMMANDS: Record<string, { run: (args: string[], io: Io) => Promise<number>; help: string }> = {
  probe: { run: probeCommand, help: PROBE_HELP },
  convert: { run: convertCommand, help: CONVERT_HELP },
  info: { run: infoCommand, help: INFO_HELP },
  volumes: { run: volumesCommand, help: VOLUMES_HELP },
  inspect: { run: inspectCommand, help: INSPECT_HELP },
  check: { run: checkCommand, help: CHECK_HELP },
  ls: { run: lsCommand, help: LS_HELP },
  cat: { run: catCommand, help: CAT_HELP },
  stat: { run: statCommand, help: STAT_HELP },
  reg: { run: regCommand, help: REG_HELP },
};

declare const __VERSION__: string | undefined;

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    io.out(topic && COMMANDS[topic] ? COMMANDS[topic].help : HELP);
    return EXIT.OK;
  }
  if (command === '-V' || command === '--version') {
    io.out(`${typeof __VERSION__ === 'string' ? __VERSION__ : 'dev'}\n`);
    return EXIT.OK;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    io.err(`diskprobe: unknown command "${command}"\n\n${HELP}`);
    return EXIT.USAGE;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    io.out(entry.help);
    return EXIT.OK;
  }
  try {
    return await entry.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`diskprobe ${command}: ${(e as Error).message}\n\n${entry.help}`);
      return EXIT.USAGE;
    }
    io.err(`diskprobe ${command}: ${(e as Error).message}\n`);
    return EXIT.USAGE;
  }
}
