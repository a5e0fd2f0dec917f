import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StellaError } from '../domain/errors.js';

// Credentials given with a request reach the worker through Temporal, whose history keeps
// every workflow input. They go sealed with AES-256-GCM under a key that only the API and
// the workers hold (STELLA_CREDENTIALS_KEY, or a key file beside the signing keys), bound to
// one distribution and valid for a day: the history then holds nothing usable.

const KEY_FILE = 'distribution-credentials.key';
const VERSION = 'v1';
export const SEALED_TTL_MS = 24 * 60 * 60 * 1000;

export interface SealingKeySource {
  keysDir: string;
  env?: NodeJS.ProcessEnv;
}

export async function sealCredentials(
  source: SealingKeySource,
  boundTo: string,
  credentials: unknown,
  now = Date.now(),
): Promise<string> {
  const key = await sealingKey(source, { create: true });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const plain = Buffer.from(
    JSON.stringify({ expiresAt: now + SEALED_TTL_MS, credentials }),
    'utf8',
  );
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);

  return [VERSION, iv, sealed, cipher.getAuthTag()].map((part) => encode(part)).join('.');
}

export async function openCredentials<T>(
  source: SealingKeySource,
  boundTo: string,
  sealed: string,
  now = Date.now(),
): Promise<T> {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !body || !tag) {
    throw new StellaError('bad_request', 'sealed credentials are malformed');
  }

  const plain = decrypt(await sealingKey(source, { create: false }), boundTo, { iv, body, tag });
  const opened = JSON.parse(plain.toString('utf8')) as { expiresAt: number; credentials: T };
  if (opened.expiresAt < now) {
    throw new StellaError(
      'denied',
      'the credentials given with this distribution have expired; request it again',
    );
  }

  return opened.credentials;
}

function decrypt(
  key: Buffer,
  boundTo: string,
  parts: { iv: string; body: string; tag: string },
): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(parts.iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(Buffer.from(parts.tag, 'base64url'));

    return Buffer.concat([decipher.update(Buffer.from(parts.body, 'base64url')), decipher.final()]);
  } catch (err) {
    throw new StellaError('denied', 'sealed credentials cannot be opened with this key', {
      cause: err,
    });
  }
}

async function sealingKey(source: SealingKeySource, options: { create: boolean }): Promise<Buffer> {
  const fromEnv = (source.env ?? process.env).STELLA_CREDENTIALS_KEY;
  if (fromEnv) {
    return keyFromText(fromEnv, 'STELLA_CREDENTIALS_KEY');
  }

  const file = path.join(source.keysDir, KEY_FILE);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing) {
    return keyFromText(existing.trim(), file);
  }
  if (!options.create) {
    throw new StellaError('denied', `no credentials key at ${file}`);
  }

  return createKeyFile(file);
}

// 'wx' makes two processes racing to create the key agree on whichever file won.
async function createKeyFile(file: string): Promise<Buffer> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, randomBytes(32).toString('base64') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw err;
    }
  }

  return keyFromText((await readFile(file, 'utf8')).trim(), file);
}

function keyFromText(text: string, origin: string): Buffer {
  const key = Buffer.from(text, 'base64');
  if (key.byteLength !== 32) {
    throw new StellaError('bad_request', `${origin} must hold 32 bytes in base64`);
  }

  return key;
}

function encode(part: string | Buffer): string {
  return Buffer.isBuffer(part) ? part.toString('base64url') : part;
}
