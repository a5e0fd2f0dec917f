import { ApiError, apiBlob, apiJson } from './api-client.js';
import { el, mono, shown, table, type Child } from './dom.js';
import { progressText, type RunSummary } from './runs-view.js';
import { mayUse } from './session.js';
import { verificationPanel } from './verification-panel.js';
import {
  errorBox, fill, POLL_MS, section, TERMINAL_STATES, type View, type ViewContext,
} from './view-kit.js';

interface Manifest {
  schema: string;
  profile: { id: string; kind: string };
  adapter: { name: string; version: string };
  generator: { name: string; version: string };
  counts: Record<string, number>;
  files: { path: string; sha256: string; size: number; mediaType: string; records?: number }[];
}

interface Provenance {
  _type: string;
  predicateType: string;
  subject: { name: string }[];
  predicate?: {
    buildDefinition?: { buildType?: string; resolvedDependencies?: unknown[] };
    runDetails?: { builder?: { id?: string }; metadata?: { invocationId?: string } };
  };
}

interface DsseEnvelope {
  signatures?: { keyid?: string }[];
}

interface Signatures {
  signatures: { path: string; over: string; jws?: string; dsse?: DsseEnvelope }[];
  jwks: { keys: { kid?: string; alg?: string; status?: string }[] };
}

// One run: its state (polled until it ends), then the bundle's manifest, provenance and
// signatures, the download and the verification panel.
export const runDetailView: View = async (context) => {
  const runId = context.params[0] ?? '';
  const summary = el('div', { attrs: { id: 'run-summary' } }, ['Loading…']);
  const bundle = el('div', { attrs: { id: 'run-bundle' } });
  context.root.replaceChildren(el('h2', {}, ['Run ', el('span', { class: 'mono' }, [runId])]),
    summary, bundle);

  let ended = false;
  let bundleShown = false;
  const refresh = async () => {
    const run = await loadRun(runId).catch((err: unknown) => {
      // A refusal (unknown run, expired token) will not change by asking again.
      ended = err instanceof ApiError && err.status < 500;
      summary.replaceChildren(errorBox(err));
    });
    if (!run) return;

    ended = TERMINAL_STATES.includes(run.state);
    summary.replaceChildren(runSummary(run), runActions(context, run));
    if (run.state === 'succeeded' && !bundleShown) {
      bundleShown = true;
      await fill(bundle, () => bundleSections(run));
    }
  };
  await refresh();
  context.poll(async () => (ended ? undefined : refresh()), POLL_MS);
};

async function loadRun(runId: string): Promise<RunSummary> {
  return apiJson<RunSummary>('GET', `/export/runs/${encodeURIComponent(runId)}`);
}

function runSummary(run: RunSummary): HTMLTableElement {
  const rows: [string, Child][] = [
    ['state', run.state], ['phase', run.phase],
    ['profile', `${run.profileId} (${run.profileKind})`],
    ['trigger', run.trigger], ['filters', JSON.stringify(run.filters)],
    ['records', progressText(run)], ['archive sha256', run.artifact?.sha256 ?? ''],
    ['archive size', run.artifact ? `${run.artifact.size} bytes` : ''],
    ['manifest sha256', run.manifestSha256 ?? ''], ['error class', run.errorClass ?? ''],
    ['error', run.errorMessage ?? ''], ['created', run.createdAt],
    ['started', run.startedAt ?? ''], ['finished', run.finishedAt ?? ''],
  ];

  return factTable(rows);
}

function factTable(rows: [string, Child][]): HTMLTableElement {
  return table(['', ''], rows.map(([name, value]) => [name, mono(value)]));
}

function runActions(context: ViewContext, run: RunSummary): HTMLElement {
  const actions = el('div', { attrs: { id: 'run-actions' } });
  if (run.state === 'succeeded') actions.append(downloadButton(run));
  if (!TERMINAL_STATES.includes(run.state) && mayUse(context.claims, 'Export.Operator')) {
    actions.append(cancelButton(run, actions));
  }

  return actions;
}

// The archive needs the bearer token, so it is fetched and handed to the browser as a blob
// (no token in a URL). The whole archive is held in memory: a very large bundle is better
// downloaded with `stella export run download`, which resumes.
function downloadButton(run: RunSummary): HTMLButtonElement {
  const button = el('button', { attrs: { id: 'download', type: 'button' } }, ['Download bundle']);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const blob = await apiBlob(`/export/runs/${encodeURIComponent(run.id)}/download`);
      saveBlob(blob, `${run.id}.tar.zst`);
    } catch (err) {
      button.after(errorBox(err));
    }
    button.disabled = false;
  });

  return button;
}

function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function cancelButton(run: RunSummary, actions: HTMLElement): HTMLButtonElement {
  const button = el('button', { attrs: { id: 'cancel', type: 'button' } }, ['Cancel run']);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await apiJson('POST', `/export/runs/${encodeURIComponent(run.id)}/cancel`, {});
      actions.append(el('p', {}, ['Cancellation requested.']));
    } catch (err) {
      actions.append(errorBox(err));
      button.disabled = false;
    }
  });

  return button;
}

async function bundleSections(run: RunSummary): Promise<Child[]> {
  const base = `/export/runs/${encodeURIComponent(run.id)}`;
  const [manifest, provenance, signatures] = await Promise.all([
    apiJson<Manifest>('GET', `${base}/manifest`),
    apiJson<Provenance>('GET', `${base}/provenance`),
    apiJson<Signatures>('GET', `${base}/signatures`),
  ]);

  return [
    manifestSection(manifest),
    provenanceSection(provenance),
    signatureSection(signatures),
    verificationPanel(run.id),
  ];
}

function manifestSection(manifest: Manifest): HTMLElement {
  const facts = el('p', {}, [
    `${manifest.schema}; ${manifest.adapter.name} ${manifest.adapter.version}; `,
    `generated by ${manifest.generator.name} ${manifest.generator.version}; `,
    `counts ${JSON.stringify(manifest.counts)}`,
  ]);
  const files = table(['path', 'media type', 'size', 'records', 'sha256'],
    manifest.files.map((file) => [mono(file.path), file.mediaType, file.size,
      file.records ?? '', mono(file.sha256)]));

  return section('Manifest', [facts, files], 'manifest');
}

function provenanceSection(provenance: Provenance): HTMLElement {
  const build = provenance.predicate?.buildDefinition;
  const details = provenance.predicate?.runDetails;
  const rows: [string, Child][] = [
    ['statement', provenance._type], ['predicate', provenance.predicateType],
    ['build type', shown(build?.buildType)], ['builder', shown(details?.builder?.id)],
    ['invocation', shown(details?.metadata?.invocationId)],
    ['subjects', provenance.subject.length],
    ['resolved dependencies', build?.resolvedDependencies?.length ?? 0],
  ];

  return section('Provenance', [factTable(rows)], 'provenance');
}

function signatureSection(answer: Signatures): HTMLElement {
  const rows = answer.signatures.map((signature) => [
    mono(signature.path), mono(signature.over), signature.jws ? 'JWS (detached)' : 'DSSE',
    mono(signature.jws ? jwsKeyId(signature.jws) : dsseKeyIds(signature.dsse)),
  ]);
  const keys = answer.jwks.keys.map((key) => [
    mono(key.kid ?? ''), key.alg ?? '', key.status ?? '',
  ]);

  return section('Signatures', [
    table(['file', 'signs', 'form', 'key id'], rows),
    el('h4', {}, ['Keys shipped in the bundle']),
    table(['key id', 'algorithm', 'status'], keys),
  ], 'signatures');
}

function jwsKeyId(jws: string): string {
  try {
    const header = JSON.parse(atob(jws.split('.')[0].replace(/-/g, '+').replace(/_/g, '/')));

    return typeof header.kid === 'string' ? header.kid : '';
  } catch {
    return '';
  }
}

function dsseKeyIds(dsse: DsseEnvelope | undefined): string {
  return (dsse?.signatures ?? []).map((signature) => signature.keyid ?? '').join(', ');
}
