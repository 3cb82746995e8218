/**
 * The check layer's vocabulary (DESIGN.md, "Checks"; CHECKS.md): a rule reads the image and the
 * inspected guest and returns an outcome with its evidence; a profile picks rules and sets the
 * limits and severities of one cloud; a report holds the outcomes of one or more profiles.
 */
import type { Finding, FormatName } from '../container/types.js';

/**
 * - `OK`: the requirement is met, and the evidence says how it was seen.
 * - `WARNING`: the instance starts, but the cloud cannot fully manage it.
 * - `FAILED`: the instance will not start, or the image will not import.
 * - `ERROR`: the rule could not read what it needs, and says what and why.
 * - `SKIPPED`: the item does not apply (a Linux rule with no Linux guest), and says why.
 */
export type Verdict = 'OK' | 'WARNING' | 'FAILED' | 'ERROR' | 'SKIPPED';

/** One thing a verdict was decided on. */
export interface CheckEvidence {
  /**
   * Where: a path in the guest (`/etc/ssh/sshd_config`), a volume (`p3`, `centos/root`), or a
   * structure of the image (`qcow2 header`, `MBR`, `GPT header`).
   */
  source: string;
  /** Line number in a file (1-based). */
  line?: number;
  /** Byte offset in the image file (structures) or the volume. */
  offset?: number;
  /** What was seen there: the line's text, a field's value, a file's size. */
  value?: string;
  /** The rule looked for it and it is not there (evidence of absence). */
  absent?: boolean;
}

/** What one rule decided under one profile. */
export interface Outcome {
  verdict: Verdict;
  /** What was found, in one or two sentences. */
  description: string;
  evidence: CheckEvidence[];
  /** What to do about it, in plain words (when not OK). */
  suggestion?: string;
  /** The value the item reports (an OS version, a size, a digest), where it has one. */
  value?: string | number;
}

/** One item of a report: a rule's outcome under a profile, with the names vendors print. */
export interface CheckItem extends Outcome {
  /** The rule's id (`linux.virtio`). */
  id: string;
  /** Its name in the report's vocabulary (`driver`, `VIRTIO_DRIVER`, `GUESTOS.Virtio`). */
  name: string;
  /** Its English title (`virtio drivers at boot`). */
  title: string;
}

/** How strongly a profile holds to a requirement when it is not met. */
export type Severity = 'FAILED' | 'WARNING';

/** What a profile says of one component several vendors disagree on. */
export type Stance = 'required' | 'recommended' | 'forbidden' | 'discouraged' | 'ignored';

/** A supported-OS entry: a distribution (os-release ID, or one it is like) and a version range. */
export interface OsSupport {
  distro: string;
  /** Inclusive, as `major.minor` (`6.8`); either end may be left open. */
  min?: string;
  max?: string;
}

/** One cloud's choice of items, limits and severities. */
export interface Profile {
  /** `alibaba`, `aws`, … */
  name: string;
  /** `Alibaba Cloud (image_check and ECS GUESTOS checks)`. */
  title: string;
  /** The vocabulary its reports use by default. */
  names: NameSet;
  /** The items it checks, in report order. */
  items: string[];
  /** The verdict an item gets when its requirement is not met, where not the rule's default. */
  severity: Partial<Record<string, Severity>>;
  formats: FormatName[];
  /** Bytes. */
  actualSizeMax?: number;
  virtualSizeMax?: number;
  /** Below this the item is a WARNING (a recommendation), not FAILED. */
  virtualSizeMin?: number;
  /** Partition tables accepted; `gpt-uefi`: GPT only when the guest boots by UEFI. */
  partitionTables: ('mbr' | 'gpt' | 'gpt-uefi')[];
  /** Boot modes the cloud starts. */
  bootModes: ('bios' | 'uefi')[];
  filesystems: string[];
  /** Filesystem features refused, as the tools name them (`64bit`, `metadata_csum`). */
  forbiddenFeatures: string[];
  /** Supported distributions; empty means any. */
  os: OsSupport[];
  /** The verdict for a distribution not in `os` (DiDi's "Customized Linux" is a WARNING). */
  osUnsupported?: Severity;
  archs: string[];
  cloudInit: Stance;
  qemuGa: Stance;
  /**
   * `off`: no firewall may start at boot; `off-or-ssh`: one that starts is a WARNING if it lets
   * TCP 22 in (JD Cloud); `ssh`: one may start but must let 22 in; `allow`: no opinion.
   */
  firewall: 'off' | 'off-or-ssh' | 'ssh' | 'allow';
  ipv6: 'forbidden' | 'allowed';
  selinux: 'disabled' | 'not-enforcing';
  ssh: { port22?: boolean; rootLoginWarn?: boolean; useDnsNo?: boolean };
  /** The interface must be named eth0 (DiDi). */
  nicEth0?: boolean;
  /** NetworkManager enabled without the network service is a WARNING (Alibaba). */
  networkManagerWarn?: boolean;
  /** Vendor agents: a name and the files or units that show it is installed. */
  agents: { name: string; paths: string[]; units: string[] }[];
  /** Kernels older than this (`major.minor`) are a WARNING for linux.moc / linux.kernel. */
  minKernel?: string;
  /** Kernel command-line arguments the vendor asks for, and ones it asks to remove. */
  cmdlineWants: string[];
  cmdlineAvoid: string[];
  /** Vendor vocabulary: the console's platform names (`CentOS`, `Ubuntu`, `Others Linux`). */
  platformNames?: Record<string, string>;
  /** What the profile asks of Windows guests. */
  windows: WindowsProfile;
}

/** The Windows side of a profile. */
export interface WindowsProfile {
  /** Releases accepted (`Windows Server 2016`, `Windows 10`); empty means any. */
  releases: string[];
  /** Architectures accepted (`x86_64`). */
  archs: string[];
  /** cloudbase-init: DiDi requires it, JD forbids it. */
  cloudInit: Stance;
  /** Vendor agents: a name and the service names that show it is installed. */
  agents: { name: string; services: string[] }[];
  /** Storage controllers the cloud presents the system disk on (`virtio-blk`, `nvme`, …). */
  bootControllers: string[];
  /** Services that must start automatically (2) or on demand (3) — Azure's baseline. */
  serviceBaseline?: Record<string, number>;
  /** Languages accepted (LCIDs as the registry writes them, `0409`); empty means any. */
  languages?: string[];
}

/** A vendor vocabulary for item names. */
export type NameSet = 'diskprobe' | 'alibaba' | 'ecs' | 'didi' | 'jdcloud';

/** Progress: which step runs, and for the digest, bytes hashed of the total. */
export interface CheckProgress {
  step: 'digest' | 'open' | 'inspect' | 'rules';
  bytes: number;
  total: number;
}

/** Digests of the image's file(s), computed by whoever can read the files. */
export interface ImageDigest {
  file: string;
  size: number;
  md5?: string;
  sha256?: string;
}

/** The image as a container, for the image-level items. */
export interface ImageFacts {
  label: string;
  format: FormatName;
  subformat?: string;
  /** Bytes of each file the image is made of (itself, backing files, extents). */
  files: { label: string; size: number }[];
  fileSize: number;
  virtualSize?: number;
  backing?: string[];
  findings: Finding[];
  /** Digests, or why there are none. */
  digests?: ImageDigest[];
  digestSkipped?: string;
}

/** One profile's items and counts. */
export interface ProfileReport {
  profile: string;
  title: string;
  items: CheckItem[];
  counts: Record<Verdict, number>;
  /** What a console's import form asks for, filled in from what was found. */
  importParameters: ImportParameters;
}

/** The fields of an import form. */
export interface ImportParameters {
  osType?: 'linux' | 'windows';
  platform?: string;
  osVersion?: string;
  architecture?: string;
  diskFormat?: string;
  /** The virtual size rounded up to whole GiB. */
  systemDiskSizeGB?: number;
  bootMode?: string;
}
