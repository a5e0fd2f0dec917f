import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EVIDENCE } from '../../support/export-stack.js';

// Real fixtures with credentials planted in fields their schemas do not know, for the
// redaction tests. The values are fake but have the shapes issuers give them.

export const PLANTED = {
  awsKeyId: 'AKIAFAKE0REDACTION01',
  githubToken: 'ghp_FakeRedactionTestToken00000000000000',
  pemBody: 'MIIEvQIBADANBgkqFAKEREDACTIONKEYBODY',
  password: 'correct-horse-planted',
} as const;

const PEM = `-----BEGIN PRIVATE KEY-----\n${PLANTED.pemBody}\n-----END PRIVATE KEY-----`;

export const PLANTED_FIELDS = {
  aws_access_key_id: PLANTED.awsKeyId,
  github_token: PLANTED.githubToken,
  private_key: PEM,
  password: PLANTED.password,
};

// One document of each format the parsers read.
export const CARRIERS = [
  'advisories/osv/go/GO-2023-1988.json',
  'advisories/osv/ghsa/npm/GHSA-74fj-2j2h-c42q.json',
  'vex/openvex/document1.vex.json',
  'vex/csaf/2022-evd-uc-01-na-001.json',
  'vex/cyclonedx/Use-Cases/Case-12/vex.json',
  'sboms/cyclonedx/laravel-7.12.0/bom.1.4.json',
  'sboms/spdx/sbom.spdx.json',
];

export function containsPlanted(text: string): string[] {
  return Object.values(PLANTED).filter((secret) => text.includes(secret));
}

// The fixture with `x_internal` (all four credentials) added at its root only.
export async function plantedBytes(relative: string): Promise<Buffer> {
  const document = JSON.parse(await readFile(path.join(EVIDENCE, relative), 'utf8')) as object;
  Object.assign(document, { x_internal: { ...PLANTED_FIELDS } });

  return Buffer.from(JSON.stringify(document, null, 2));
}

// Copies of `carriers` with their planted fields, in a new folder under `dir`.
export async function writePlantedCopies(dir: string, carriers: string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [index, relative] of carriers.entries()) {
    const target = path.join(dir, `${index}-${path.basename(relative)}`);
    await writeFile(target, await plantedBytes(relative));
  }

  return dir;
}
