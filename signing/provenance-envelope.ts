// signatures/provenance.dsse.json: provenance.json signed as a DSSE envelope (in-toto
// attestation layer), so in-toto and sigstore tooling can check the attestation on its own.
// The payload is provenance.json's exact bytes, so the envelope and the file cannot differ.
import { join } from 'node:path';

import { PROVENANCE_PATH } from '../bundle/manifest.js';
import { readIfPresent } from './bundle-files.js';
import { IN_TOTO_PAYLOAD_TYPE, signDsse, verifyDsse, type DsseEnvelope } from './dsse.js';
import type { JWKS, Signer } from './signer.js';

export const PROVENANCE_ENVELOPE_PATH = 'signatures/provenance.dsse.json';

export interface EnvelopeProblem {
  check: 'signature' | 'provenance';
  path: string;
  message: string;
}

export async function signProvenanceEnvelope(
  signer: Pick<Signer, 'keyId' | 'algorithm' | 'signRaw'>,
  provenanceBytes: Uint8Array,
): Promise<Uint8Array> {
  const envelope = await signDsse(signer, provenanceBytes, IN_TOTO_PAYLOAD_TYPE);

  return Buffer.from(`${JSON.stringify(envelope)}\n`, 'utf8');
}

// An absent envelope is no problem: bundles made before it existed still verify.
export async function provenanceEnvelopeProblems(
  bundleDir: string,
  jwks: JWKS,
): Promise<EnvelopeProblem[]> {
  const envelopeBytes = await readIfPresent(join(bundleDir, PROVENANCE_ENVELOPE_PATH));
  if (!envelopeBytes) return [];

  const envelope = parseEnvelope(envelopeBytes);
  if (!envelope) return [signatureProblem('is not a DSSE envelope (JSON object)')];

  const verdict = await verifyDsse(envelope, jwks);
  if (!verdict.ok) return verdict.failures.map(signatureProblem);

  const provenance = await readIfPresent(join(bundleDir, PROVENANCE_PATH));
  if (provenance && !Buffer.from(verdict.payload!).equals(provenance)) {
    const message = `the payload signed in ${PROVENANCE_ENVELOPE_PATH} is not provenance.json`;
    return [{ check: 'provenance', path: PROVENANCE_PATH, message }];
  }

  return [];
}

function signatureProblem(message: string): EnvelopeProblem {
  return { check: 'signature', path: PROVENANCE_ENVELOPE_PATH, message };
}

function parseEnvelope(bytes: Uint8Array): DsseEnvelope | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);

    return isObject ? (value as DsseEnvelope) : undefined;
  } catch {
    return undefined;
  }
}

