import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { StellaError } from '../domain/errors.js';
import { compareCodeUnits } from './normalize-values.js';

const DOCUMENT_EXTENSIONS = /\.(json|ya?ml)$/i;

// Provenance and notes that sit beside the fixtures; never evidence themselves.
const SKIPPED_NAMES = new Set(['ATTRIBUTION.md', 'SOURCES.tsv', 'EXPECTED.md']);

// Expands folders depth first in sorted order (same on every host), keeping .json/.yaml/.yml
// files. Paths named explicitly are yielded as given, whatever their extension. Inside a
// folder symlinks are not followed, so a link cannot pull in files from outside it.
export async function* collectDocumentPaths(paths: string[]): AsyncGenerator<string> {
  for (const path of paths) {
    const info = await statOrNotFound(path);
    if (info.isDirectory()) {
      yield* walkFolder(path);
    } else {
      yield path;
    }
  }
}

async function statOrNotFound(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    throw new StellaError('not_found', `cannot read ${path}`, { cause: err, details: { path } });
  }
}

async function* walkFolder(folder: string): AsyncGenerator<string> {
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => compareCodeUnits(a.name, b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || SKIPPED_NAMES.has(entry.name)) continue;

    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      yield* walkFolder(path);
    } else if (entry.isFile() && DOCUMENT_EXTENSIONS.test(entry.name)) {
      yield path;
    }
  }
}
