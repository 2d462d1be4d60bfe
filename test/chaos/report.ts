/** The chaos suite's figures, one line per run. */
import { textTable } from '../../bench/text-table.ts';
import type { ChaosReport } from './chaos-run.ts';

export function printChaosReports(reports: readonly ChaosReport[]): void {
  const rows = reports.map((r) => [
    r.label,
    String(r.sent),
    String(r.acked),
    String(r.stored),
    String(r.deliveredOnSocket),
    String(r.recoveredBySync),
    String(r.duplicatesSeen),
    String(r.changes),
    String(r.reactionsAmiss),
    String(r.queued),
    String(r.redriven),
    String(r.pushes),
    String(r.reconnects),
    injectedTotal(r.faultsInjected),
    r.violations.length === 0 ? 'held' : `${r.violations.length} broken`,
  ]);
  process.stdout.write(
    `\n${textTable(
      [
        'run',
        'sent',
        'acked',
        'stored',
        'on socket',
        'by sync',
        'duplicates',
        'changes',
        'reactions amiss',
        'queued',
        'redriven',
        'pushes',
        'reconnects',
        'faults',
        'promises',
      ],
      rows,
      [
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'left',
        'left',
      ],
    )}\n`,
  );
  for (const report of reports) {
    const phases = report.phases.map(({ phase, seconds }) => `${phase} ${seconds} s`).join(', ');
    process.stdout.write(`  ${report.label}: ${phases}\n`);
  }
  for (const report of reports) {
    for (const violation of report.violations.slice(0, 20))
      process.stdout.write(`  ${report.label}: ${violation}\n`);
  }
}

/** `{"post": 12, "lose": 3}` from the stack's `injected` counts, zeros left out. */
function injectedTotal(faults: unknown): string {
  const injected = (faults as { injected?: Record<string, number> } | undefined)?.injected;
  if (injected === undefined) return '-';
  const parts = Object.entries(injected)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
