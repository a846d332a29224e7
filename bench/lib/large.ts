/**
 * The large database of the bench: a copy of the provisioned one (every
 * account the loads use, same secret, same PINs) plus synthetic users with
 * mailboxes and audit rows, built the way an administrator moves a database:
 * `umpin export` of the provisioned one, the synthetic records added to that
 * file, `umpin import` into a new data directory (timed). Bench code.
 */
import { once } from 'node:events';
import { copyFileSync, createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runMeasured, type CommandRun } from './command.ts';

export interface LargeCounts {
  readonly mailboxes: number;
  readonly audit: number;
}

type ExportRecord = Record<string, unknown> & { type: string };

/** Where the synthetic records go in the file: after the last record of their type (the import order is fixed). */
const ORDER = ['policy', 'user', 'mailbox', 'pin-history', 'api-key', 'audit'];

/**
 * Reads `source` (an export) and writes `target`: the same records, plus
 * `counts.mailboxes` users with a mailbox each (cloned from the first user
 * and mailbox, with their own login, address and extension) and
 * `counts.audit` audit rows (cloned from the export's, spread over the past
 * year, oldest first, before the real ones), with the header's counts raised to match.
 */
export async function addSyntheticRecords(source: string, target: string, counts: LargeCounts): Promise<void> {
  const lines = createInterface({ input: createReadStream(source), crlfDelay: Infinity });
  const out = createWriteStream(target);
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  let header: { counts: Record<string, number> } | undefined;
  const templates = new Map<string, ExportRecord>();
  const held: string[] = [];
  let typeIndex = -1;
  const name = (i: number) => `bulk${String(i).padStart(7, '0')}`;
  const flush = async (until: number) => {
    // Emit the synthetic records of every type passed on the way to type index `until`.
    while (typeIndex < until) {
      const type = ORDER[typeIndex];
      const template = type === undefined ? undefined : templates.get(type);
      if (type === 'user' && template) {
        for (let i = 0; i < counts.mailboxes; i += 1) await write(JSON.stringify({ ...template, login: name(i) }));
      } else if (type === 'mailbox' && template) {
        for (let i = 0; i < counts.mailboxes; i += 1) {
          await write(JSON.stringify({ ...template, login: name(i), email: `${name(i)}@example.com`, notify_email: null, extension: String(50_000_000 + i) }));
        }
      }
      typeIndex += 1;
      if (ORDER[typeIndex] === 'audit') await writeAudit();
    }
  };
  const writeAudit = async () => {
    const template = templates.get('audit') ?? { type: 'audit', event: 'pin.reset', outcome: 'success', actor: 'user', source: '127.0.0.1', detail: '{}' };
    const start = Date.now() - 365 * 86_400_000;
    const step = (300 * 86_400_000) / Math.max(1, counts.audit);
    const events = ['pin.reset', 'pin.logon', 'pin.change', 'mailbox.enable'];
    for (let i = 0; i < counts.audit; i += 1) {
      await write(JSON.stringify({
        ...template, at: new Date(start + i * step).toISOString(), event: events[i % events.length], login: name(i % Math.max(1, counts.mailboxes)), detail: '{}',
      }));
    }
  };

  for await (const line of lines) {
    if (header === undefined) {
      header = JSON.parse(line) as { counts: Record<string, number> };
      continue;
    }
    held.push(line);
    const record = JSON.parse(line) as ExportRecord;
    if (!templates.has(record.type)) templates.set(record.type, record);
  }
  if (!header) throw new Error(`${source} is empty`);
  const announced = { ...header.counts };
  announced.user = (announced.user ?? 0) + counts.mailboxes;
  announced.mailbox = (announced.mailbox ?? 0) + counts.mailboxes;
  announced.audit = (announced.audit ?? 0) + counts.audit;
  await write(JSON.stringify({ ...header, counts: announced }));
  // The export's records, with the synthetic ones after the last of their type (audit rows before the real ones).
  for (const line of held) {
    const type = (JSON.parse(line) as ExportRecord).type;
    const index = ORDER.indexOf(type);
    if (index > typeIndex) await flush(index);
    await write(line);
  }
  await flush(ORDER.length);
  out.end();
  await once(out, 'finish');
}

export interface LargeDatabase {
  readonly env: Record<string, string>;
  readonly export: CommandRun;
  readonly import: CommandRun;
}

/** Exports the provisioned database (`from`), adds the synthetic records and imports the result into `dataDir`, with the same secret. */
export async function buildLargeDatabase(bin: string, from: Record<string, string>, dataDir: string, counts: LargeCounts, scratch: string): Promise<LargeDatabase> {
  const exported = join(scratch, 'small.jsonl');
  const large = join(scratch, 'large.jsonl');
  const exportRun = await runMeasured([bin, 'export', '--output', exported], from);
  await addSyntheticRecords(exported, large, counts);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  copyFileSync(join(from.UMPIN_DATA_DIR as string, 'secret.key'), join(dataDir, 'secret.key'));
  const env = { ...from, UMPIN_DATA_DIR: dataDir };
  const importRun = await runMeasured([bin, 'import', large], env);
  return { env, export: exportRun, import: importRun };
}
