/**
 * The page: picks an image (a dropped or chosen `File`, or a URL), hands it to the worker with
 * the clouds chosen, shows progress (step, bytes read), then the report: a header, a matrix of
 * item × cloud, each item's description, evidence and suggestion, and the JSON to download. All
 * work is in the worker, so the page stays responsive; Cancel aborts the check and its reads.
 */
import { PROFILES } from '../src/check/profiles.js';
import type { CheckReport, ReportItem } from '../src/check/report.js';
import type { WorkerMessage, WorkerRequest } from './worker.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (m: WorkerRequest) => worker.postMessage(m);

const mib = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);
const size = (n: number) => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : mib(n));

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

// The clouds, all checked by default.
const profiles = $('profiles');
for (const p of Object.values(PROFILES)) {
  const box = el('input', { type: 'checkbox', value: p.name, checked: true });
  profiles.append(el('label', { title: p.title }, box, ` ${p.name}`));
}
const chosen = () => Array.from(profiles.querySelectorAll<HTMLInputElement>('input:checked'), (i) => i.value);

const status = $('status');
const cancel = $<HTMLButtonElement>('cancel');
let downloadUrl: string | undefined;

function start(req: Extract<WorkerRequest, { type: 'check' }>, what: string): void {
  $('result').hidden = true;
  status.textContent = `checking ${what}…`;
  document.body.dataset.state = 'running';
  cancel.disabled = false;
  send(req);
}

$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) start({ type: 'check', file: f, profiles: chosen() }, f.name);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) start({ type: 'check', file: f, profiles: chosen() }, f.name);
});
$('url-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = $<HTMLInputElement>('url').value.trim();
  if (url) start({ type: 'check', url, profiles: chosen() }, url);
});
cancel.addEventListener('click', () => send({ type: 'cancel' }));

worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
  const m = e.data;
  if (m.type === 'progress') {
    status.textContent = `${m.step}: ${mib(m.bytesRead)} read in ${m.reads} reads${m.size ? ` of a ${size(m.size)} file` : ''}${m.heap ? `; worker heap ${mib(m.heap)}` : ''}`;
    return;
  }
  cancel.disabled = true;
  if (m.type === 'error') {
    document.body.dataset.state = m.cancelled ? 'cancelled' : 'error';
    status.textContent = m.cancelled ? `cancelled after ${mib(m.bytesRead)} read` : `could not check the image: ${m.message}${m.code ? ` (${m.code})` : ''}`;
    return;
  }
  document.body.dataset.state = 'done';
  status.textContent = `done in ${(m.ms / 1000).toFixed(2)} s: ${mib(m.bytesRead)} read in ${m.reads} reads of a ${size(m.size)} file (${((m.bytesRead / Math.max(1, m.size)) * 100).toFixed(2)} %)${m.peakHeap ? `; worker heap peak ${mib(m.peakHeap)}` : ''}`;
  status.dataset.bytesRead = String(m.bytesRead);
  status.dataset.size = String(m.size);
  if (m.peakHeap !== undefined) status.dataset.peakHeap = String(m.peakHeap);
  show(m.report);
};

function show(r: CheckReport): void {
  const g = r.guest;
  const params = r.profiles[0]?.import_parameters;
  $('summary').replaceChildren(
    el('h2', {}, `${r.image.label}`),
    el('p', {}, `${r.image.format}${r.image.subformat ? ` (${r.image.subformat})` : ''}, ${r.image.virtualSize !== undefined ? `${size(r.image.virtualSize)} virtual` : 'size unknown'}; ${g ? `${g.product ?? g.distro}${g.version && !(g.product ?? '').includes(g.version) ? ` ${g.version}` : ''} on ${g.root}${g.arch ? `, ${g.arch}` : ''}` : 'no operating system found'}${params?.bootMode ? `; boots by ${params.bootMode}` : ''}`),
    el('p', {}, ...r.profiles.map((p) => el('span', { className: p.counts.FAILED ? 'FAILED' : p.counts.WARNING ? 'WARNING' : 'OK' }, `${p.profile}: ${p.counts.OK} OK, ${p.counts.FAILED} FAILED, ${p.counts.WARNING} WARNING, ${p.counts.ERROR} ERROR`))),
  );
  // Item × cloud, without the rows every cloud skipped.
  const ids = [...new Set(r.profiles.flatMap((p) => p.check_items.map((i) => i.id)))];
  const byId = new Map(r.profiles.map((p) => [p.profile, new Map(p.check_items.map((i) => [i.id, i]))]));
  const rows = ids.filter((id) => r.profiles.some((p) => { const v = byId.get(p.profile)!.get(id)?.result; return v !== undefined && v !== 'SKIPPED'; }));
  const table = el('table', { id: 'matrix-table' }, el('tr', {}, el('th', {}, 'item'), ...r.profiles.map((p) => el('th', {}, p.profile))));
  for (const id of rows) {
    const tr = el('tr', {}, el('td', {}, id));
    for (const p of r.profiles) {
      const item = byId.get(p.profile)!.get(id);
      tr.append(item ? el('td', { className: `v ${item.result}`, title: item.description }, item.result) : el('td', {}, '—'));
      if (item) tr.lastElementChild!.setAttribute('data-item', `${p.profile} ${id}`);
    }
    table.append(tr);
  }
  const skipped = ids.length - rows.length;
  $('matrix').replaceChildren(table, el('p', {}, skipped ? `${skipped} item(s) skipped by every cloud (they are for another kind of guest) are not shown.` : ''));
  // Each item once, with the clouds that gave each verdict.
  const details = $('details');
  details.replaceChildren(el('h2', {}, 'Details'));
  for (const id of rows) {
    const groups = new Map<string, { item: ReportItem; clouds: string[] }>();
    for (const p of r.profiles) {
      const item = byId.get(p.profile)!.get(id);
      if (!item) continue;
      const key = `${item.result}\n${item.description}`;
      const g0 = groups.get(key);
      if (g0) g0.clouds.push(p.profile);
      else groups.set(key, { item, clouds: [p.profile] });
    }
    for (const { item, clouds } of groups.values()) {
      const d = el('details', { open: item.result === 'FAILED' }, el('summary', {}, el('span', { className: item.result }, ` ${item.result} `), ` ${id} — ${item.description} (${clouds.join(', ')})`));
      const ul = el('ul');
      for (const ev of item.evidence) ul.append(el('li', { className: 'evidence' }, `${ev.source}${ev.line !== undefined ? `:${ev.line}` : ''}${ev.offset !== undefined ? ` @${ev.offset}` : ''}${ev.absent ? ' (absent)' : ''}${ev.value ? `: ${ev.value}` : ''}`));
      d.append(ul);
      if (item.comment) d.append(el('p', { className: 'suggestion' }, item.comment));
      details.append(d);
    }
  }
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }));
  $<HTMLAnchorElement>('download').href = downloadUrl;
  // For tests and scripts: the report as JSON in the page.
  (globalThis as unknown as { diskprobeReport?: CheckReport }).diskprobeReport = r;
  $('result').hidden = false;
}
