import type { MirrorManifest } from './mirror-layout.js';

// README.md inside every mirror bundle, for the person carrying it into an air-gapped site.
// Built from the manifest only, so it is as deterministic as the manifest.
export function mirrorReadme(manifest: Omit<MirrorManifest, 'readme'>): string {
  const c = manifest.content;
  const lines = [
    `# Stella mirror bundle (${manifest.kind})`,
    '',
    describeKind(manifest),
    '',
    '| kind | records | slots | in this bundle |',
    '| --- | --- | --- | --- |',
    ...(['advisories', 'vex', 'sboms'] as const).map(
      (kind) => `| ${kind} | ${c[kind].records} | ${c[kind].slots} | ${changesOf(c[kind].changes)} |`,
    ),
    '',
    '## Import it',
    '',
    '1. Copy this folder (or the `.tar.zst` it came in) to the mirror host.',
    '2. Verify it with the publisher\'s public keys, obtained through a separate channel:',
    '   `npx stella export verify <bundle> --jwks trusted-jwks.json` (exit 0 means intact).',
    '3. Import a full bundle first, then every delta in order:',
    '   `npx stella mirror import <bundle> --root <mirror-folder> --jwks trusted-jwks.json`.',
    '   The import verifies signatures and hashes again before it changes anything, and',
    '   refuses a delta whose base is not the last bundle the mirror imported.',
    '4. Serve it read-only on this host: `npx stella mirror serve --root <mirror-folder>`.',
    '',
    '## What is inside',
    '',
    '- `manifest.yaml`: profile, filters, counts, base export; `export.json` lists every file',
    '  with its SHA-256 and is signed in `signatures/export.sig`.',
    '- `indexes/`: package → advisory ids, vulnerability ↔ product, subject → SBOMs.',
    '- `<kind>/raw/`: documents exactly as ingested, one file per SHA-256; a document with',
    `  unknown fields or credential-shaped values is withheld instead (${withheldOf(manifest)}).`,
    '- `<kind>/normalized/`: normalized records as canonical JSON lines (zstd).',
    '- `sboms/graph/`: the component graph of each SBOM.',
    '- `tombstones/` (deltas): slots and documents the delta removes.',
    '',
  ];

  return lines.join('\n');
}

function describeKind(manifest: Omit<MirrorManifest, 'readme'>): string {
  if (manifest.kind === 'full') {
    return 'A complete mirror: importing it replaces whatever the mirror held.';
  }

  return [
    `A delta on top of export \`${manifest.base_export_id}\``,
    `(its export.json has SHA-256 \`${manifest.base_manifest_sha256}\`).`,
    'Import that export and every delta before this one first.',
  ].join(' ');
}

function changesOf(changes: { added: number; changed: number; removed: number } | undefined) {
  if (!changes) {
    return 'all';
  }

  return `+${changes.added} ~${changes.changed} -${changes.removed}`;
}

function withheldOf(manifest: Omit<MirrorManifest, 'readme'>): string {
  const count = manifest.withheld?.length ?? 0;

  return count === 0
    ? 'none in this bundle'
    : `${count} here, listed under \`withheld\` in manifest.yaml`;
}
