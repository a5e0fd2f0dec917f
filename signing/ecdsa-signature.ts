// Conversions between the two ECDSA signature encodings: JOSE's fixed-width r||s (RFC 7518
// §3.4, "IEEE P1363") and the ASN.1 DER SEQUENCE { r INTEGER, s INTEGER } that X.509 tools,
// AWS KMS and sigstore/in-toto verifiers use.
import { StellaError } from '../domain/errors.js';

const SEQUENCE_TAG = 0x30;
const INTEGER_TAG = 0x02;

// Short-form DER lengths only: enough for P-256 (at most 72 bytes); P-521 would need long form.
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const r = derInteger(signature.subarray(0, half));
  const s = derInteger(signature.subarray(half));

  return Uint8Array.from([SEQUENCE_TAG, r.length + s.length, ...r, ...s]);
}

export function derToP1363(der: Uint8Array, integerSize = 32): Uint8Array {
  if (der[0] !== SEQUENCE_TAG || der[1] !== der.length - 2) {
    throw malformed('not a short-form DER SEQUENCE');
  }

  const r = readDerInteger(der, 2);
  const s = readDerInteger(der, r.end);
  if (s.end !== der.length) {
    throw malformed('trailing bytes after the two INTEGERs');
  }

  return Uint8Array.from([...leftPad(r.value, integerSize), ...leftPad(s.value, integerSize)]);
}

function derInteger(unsigned: Uint8Array): number[] {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start += 1;
  const digits = [...unsigned.subarray(start)];
  // A set high bit would read as negative, so DER prefixes a zero byte (X.690 §8.3.2).
  const body = digits[0] >= 0x80 ? [0, ...digits] : digits;

  return [INTEGER_TAG, body.length, ...body];
}

function readDerInteger(der: Uint8Array, offset: number): { value: Uint8Array; end: number } {
  const length = der[offset + 1];
  const end = offset + 2 + length;
  if (der[offset] !== INTEGER_TAG || length === undefined || end > der.length) {
    throw malformed('expected a DER INTEGER');
  }

  return { value: der.subarray(offset + 2, end), end };
}

function leftPad(value: Uint8Array, size: number): Uint8Array {
  let start = 0;
  while (start < value.length && value[start] === 0) start += 1;
  const digits = value.subarray(start);
  if (digits.length > size) {
    throw malformed(`an INTEGER is longer than ${size} bytes`);
  }

  const padded = new Uint8Array(size);
  padded.set(digits, size - digits.length);

  return padded;
}

function malformed(reason: string): StellaError {
  return new StellaError('malformed_document', `ECDSA signature: ${reason}`);
}
