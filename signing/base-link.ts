// The link from a delta bundle to the bundle it builds on: export.json's `base` names the
// base run and the SHA-256 of the base's export.json. Checking it needs the base's manifest,
// which the delta does not carry; without it the link is reported as not checked, never as
// passed.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

import { MANIFEST_PATH } from '../bundle/manifest.js';
import { decompressor, failureOf } from '../bundle/extract.js';
import { StellaError } from '../domain/errors.js';

// The base's export.json bytes, or (when only a record of it is left) its SHA-256.
export type BaseManifestInput =
  | { bytes: Uint8Array; source: string } // source: where it came from, for messages
  | { sha256: string; source: string };

export type BaseLinkStatus = 'matched' | 'mismatch' | 'not_checked' | 'not_a_delta';

export interface BaseLink {
  status: BaseLinkStatus;
  runId?: string; // the base run the delta names
  expectedSha256?: string; // the base manifest hash the delta names
  actualSha256?: string; // the hash of the base manifest that was given
  source?: string;
}

export interface BaseLinkVerdict {
  link: BaseLink;
  failure?: string; // set for `mismatch`, and for a malformed `base` member
  warning?: string; // set for `not_checked`
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function checkBaseLink(manifest: unknown, base?: BaseManifestInput): BaseLinkVerdict {
  const named = (manifest as { base?: unknown } | undefined)?.base;
  if (named === undefined) return notADelta(base);

  const reference = parseReference(named);
  if (!reference) {
    const failure = 'export.json has a "base" member without a runId and a sha256';
    return { link: { status: 'mismatch' }, failure };
  }
  if (!base) return notChecked(reference);

  return compared(reference, base);
}

interface BaseReference {
  runId: string;
  manifestSha256: string;
}

function parseReference(named: unknown): BaseReference | undefined {
  const { runId, manifestSha256 } = (named ?? {}) as Partial<BaseReference>;
  const valid = typeof runId === 'string' && typeof manifestSha256 === 'string' &&
    SHA256_HEX.test(manifestSha256);

  return valid ? { runId, manifestSha256 } : undefined;
}

function notADelta(base: BaseManifestInput | undefined): BaseLinkVerdict {
  if (!base) return { link: { status: 'not_a_delta' } };

  const failure = `a base (${base.source}) was given, but this bundle is not a delta ` +
    '(its export.json names no base)';

  return { link: { status: 'mismatch', source: base.source }, failure };
}

const NOT_CHECKED = 'base link NOT checked';

// For callers that check the link another way (the mirror reader, against its head).
export function isBaseLinkWarning(warning: string): boolean {
  return warning.startsWith(NOT_CHECKED);
}

function notChecked(reference: BaseReference): BaseLinkVerdict {
  const warning =
    `${NOT_CHECKED}: this delta builds on run ${reference.runId} whose export.json ` +
    `has sha256 ${reference.manifestSha256}; pass the base bundle (--base) to check it`;

  return { link: linkOf('not_checked', reference), warning };
}

function compared(reference: BaseReference, base: BaseManifestInput): BaseLinkVerdict {
  const actual = 'bytes' in base
    ? createHash('sha256').update(base.bytes).digest('hex')
    : base.sha256;
  const link = { ...linkOf('matched', reference), actualSha256: actual, source: base.source };
  if (actual === reference.manifestSha256) return { link };

  const failure =
    `this delta builds on run ${reference.runId} whose export.json has sha256 ` +
    `${reference.manifestSha256}, but the base given (${base.source}) has export.json ` +
    `sha256 ${actual}${'bytes' in base ? baseRunNote(base.bytes, reference.runId) : ''}`;

  return { link: { ...link, status: 'mismatch' }, failure };
}

// Says which run the wrong base is, when its manifest names one: the usual mistake is
// passing the previous delta instead of the one this delta was made from.
function baseRunNote(bytes: Uint8Array, expectedRunId: string): string {
  let runId: unknown;
  try {
    runId = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { runId?: unknown }).runId;
  } catch {
    return ' (not a JSON manifest)';
  }
  if (typeof runId !== 'string' || runId === expectedRunId) return '';

  return ` (it is run ${runId})`;
}

function linkOf(status: BaseLinkStatus, reference: BaseReference): BaseLink {
  return { status, runId: reference.runId, expectedSha256: reference.manifestSha256 };
}

// --- reading a base given on the command line ----------------------------------------------

// `path` is a bundle folder, a bundle .tar.zst, or an export.json file.
export async function readBaseManifest(path: string): Promise<BaseManifestInput> {
  const info = await stat(path).catch((err: unknown) => {
    throw new StellaError('not_found', `the base ${path} does not exist`, { cause: err });
  });
  const bytes = info.isDirectory()
    ? await readManifestFile(join(path, MANIFEST_PATH))
    : basename(path).endsWith('.json')
      ? await readManifestFile(path)
      : await manifestFromArchive(path);

  return { bytes, source: path };
}

async function readManifestFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new StellaError('not_found', `the base manifest ${path} cannot be read`, { cause: err });
  }
}

// Streams the archive and keeps only export.json: a base bundle may be large.
async function manifestFromArchive(archive: string): Promise<Uint8Array> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(archive), decompressor(), extract);
  done.catch(() => undefined);
  const failed = failureOf(done);
  let found: Buffer | undefined;
  try {
    for await (const entry of extract) {
      if (entry.header.name.replace(/^\.\//, '') === MANIFEST_PATH && !found) {
        const reading = collect(entry);
        reading.catch(() => undefined); // a loss to `failed` is reported through it
        found = await Promise.race([reading, failed]);
      } else {
        entry.resume();
      }
    }
    await done;
  } catch (err) {
    throw new StellaError('integrity_failed', `the base ${archive} is not a readable .tar.zst`, {
      cause: err,
    });
  }
  if (!found) throw new StellaError('not_found', `the base ${archive} holds no ${MANIFEST_PATH}`);

  return found;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);

  return Buffer.concat(chunks);
}
