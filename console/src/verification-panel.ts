import { apiJson } from './api-client.js';
import { el, mono, table } from './dom.js';
import { fill, section } from './view-kit.js';

export interface VerifyFailure {
  check: string;
  path?: string;
  message: string;
}

export interface VerifyAnswer {
  runId: string;
  ok: boolean;
  keyId?: string;
  keySource: 'provided' | 'embedded';
  failures: VerifyFailure[];
  warnings: string[];
  filesChecked: number;
}

// The checks of signing/verify-bundle.ts, in the order a reader thinks of them.
const CHECKS: Record<string, string> = {
  signature: 'manifest signature',
  key: 'signing key known and usable',
  manifest: 'manifest readable',
  hash: 'file hashes',
  size: 'file sizes',
  missing_file: 'no listed file missing',
  unlisted_file: 'no unlisted file',
  provenance: 'provenance matches the files',
  base: 'delta base link',
};

// POST /export/runs/{id}/verify runs the offline checks on the server's copy of the bundle
// against the deployment's published keys; the panel lists every check and what failed.
export function verificationPanel(runId: string): HTMLElement {
  const result = el('div', { attrs: { id: 'verification-result' } });
  const button = el('button', {
    attrs: { id: 'verify', type: 'button' },
    on: { click: () => void verify(runId, result, button) },
  }, ['Verify bundle on the server']);

  return section('Verification', [button, result], 'verification');
}

async function verify(runId: string, result: HTMLElement, button: HTMLButtonElement) {
  button.disabled = true;
  result.replaceChildren('Verifying…');
  const path = `/export/runs/${encodeURIComponent(runId)}/verify`;
  await fill(result, async () => verdictNodes(await apiJson<VerifyAnswer>('POST', path, {})));
  button.disabled = false;
}

function verdictNodes(answer: VerifyAnswer): HTMLElement[] {
  const verdict = answer.ok ? 'verified' : 'verification failed';
  const keyNote = answer.keySource === 'embedded'
    ? ' (with the key shipped in the bundle: proves integrity, not origin)'
    : ' (with this deployment\'s published keys)';

  return [
    el('p', { class: `verdict verdict-${answer.ok ? 'ok' : 'failed'}`, attrs: { id: 'verdict' } },
      [verdict]),
    el('p', {}, [`key ${answer.keyId ?? 'unknown'}${keyNote}`]),
    el('p', {}, [`${answer.filesChecked} files checked`]),
    checkTable(answer.failures),
    ...(answer.failures.length ? [failureTable(answer.failures)] : []),
    ...answer.warnings.map((warning) => el('p', { class: 'muted' }, [`warning: ${warning}`])),
  ];
}

function checkTable(failures: VerifyFailure[]): HTMLTableElement {
  return table(['check', 'result'], Object.entries(CHECKS).map(([check, label]) => {
    const failed = failures.filter((failure) => failure.check === check).length;
    const outcome = failed ? `failed (${failed})` : 'passed';

    return [label, el('td', { class: failed ? 'check-failed' : 'check-passed' }, [outcome])];
  }));
}

function failureTable(failures: VerifyFailure[]): HTMLTableElement {
  return table(['check', 'path', 'what failed'], failures.map((failure) => [
    failure.check,
    mono(failure.path ?? ''),
    failure.message,
  ]));
}
