import type { MirrorFiles } from './mirror-files.js';
import type { MirrorQueries } from '../../store/mirror-queries.js';

// Optional parts of a mirror that other features provide: `policy/` (snapshot.yaml and
// evaluations.jsonl) when policy results are included, `consensus/` (vex_consensus.jsonl)
// when VEX consensus is. A section writes its files through `files` under its own folder
// and returns whether it wrote anything; a mirror names in manifest.yaml the sections it
// holds. Nothing is registered here: the policy and consensus features register their own
// with `registerMirrorSection` when they exist.

export interface MirrorSectionContext {
  files: MirrorFiles;
  queries: MirrorQueries;
  runId: string;
  bundleKind: 'full' | 'delta';
  baseRunId?: string;
  profileConfig: Record<string, unknown>;
}

export interface MirrorSection {
  name: string; // the folder it writes: 'policy', 'consensus'
  write(context: MirrorSectionContext): Promise<boolean>;
}

const sections: MirrorSection[] = [];

export function registerMirrorSection(section: MirrorSection): void {
  if (sections.some((known) => known.name === section.name)) {
    throw new Error(`mirror section ${section.name} is already registered`);
  }
  sections.push(section);
}

export async function writeMirrorSections(context: MirrorSectionContext): Promise<string[]> {
  const written: string[] = [];
  for (const section of [...sections].sort((a, b) => a.name.localeCompare(b.name))) {
    if (await section.write(context)) {
      written.push(section.name);
    }
  }

  return written;
}
