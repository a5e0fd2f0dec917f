import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EVIDENCE } from '../../support/export-stack.js';

// Small edits of real fixture documents, written to a folder for ingest: one new advisory,
// one revised, one withdrawn, a new VEX document and a new SBOM. What a mirror delta must
// carry after the shipped fixtures.

export const CHANGED = {
  addedAdvisory: 'GHSA-mirr-test-0001',
  addedPackage: 'lodash-mirror-test',
  revisedAdvisory: 'GHSA-35jh-r3h4-6jhm',
  withdrawnAdvisory: 'GHSA-4w2v-q235-vp99',
  newVulnerability: 'CVE-2030-0001',
  newVexProduct: 'pkg:apk/distro/git@2.39.0-r1?arch=x86_64',
  newSbomSubject: 'juice-shop-mirror',
} as const;

type Json = Record<string, unknown>;

export async function writeEvidenceChanges(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const ghsa = (name: string) => path.join(EVIDENCE, 'advisories/osv/ghsa/npm', `${name}.json`);

  await edit(ghsa('GHSA-29mw-wpgm-hmr9'), path.join(dir, 'added.json'), (doc) => {
    doc.id = CHANGED.addedAdvisory;
    doc.aliases = [];
    doc.modified = '2030-01-01T00:00:00Z';
    const affected = doc.affected as { package: { name: string } }[];
    affected.forEach((entry) => (entry.package.name = CHANGED.addedPackage));
  });
  await edit(ghsa(CHANGED.revisedAdvisory), path.join(dir, 'revised.json'), (doc) => {
    doc.summary = `${String(doc.summary)} (revised)`;
    doc.modified = '2030-01-02T00:00:00Z';
  });
  await edit(ghsa(CHANGED.withdrawnAdvisory), path.join(dir, 'withdrawn.json'), (doc) => {
    doc.withdrawn = '2030-01-03T00:00:00Z';
    doc.modified = '2030-01-03T00:00:00Z';
  });
  await edit(path.join(EVIDENCE, 'vex/openvex/demo.vex.json'), path.join(dir, 'new.vex.json'), (doc) => {
    doc['@id'] = 'https://openvex.dev/docs/public/vex-mirror-test';
    const [statement] = doc.statements as Json[];
    statement.vulnerability = { name: CHANGED.newVulnerability };
    statement.status = 'not_affected';
    statement.justification = 'component_not_present';
  });
  await edit(path.join(EVIDENCE, 'sboms/cyclonedx/juice-shop-v11.1.2/bom.json'), path.join(dir, 'new.bom.json'), (doc) => {
    doc.serialNumber = 'urn:uuid:00000000-0000-4000-8000-000000000001';
    const component = (doc.metadata as Json).component as Json;
    component.name = CHANGED.newSbomSubject;
    component.version = '11.1.3';
  });

  return dir;
}

async function edit(from: string, to: string, change: (doc: Json) => void): Promise<void> {
  const doc = JSON.parse(await readFile(from, 'utf8')) as Json;
  change(doc);
  await writeFile(to, JSON.stringify(doc, null, 2) + '\n');
}
