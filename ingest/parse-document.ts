import { StellaError, isStellaError } from '../domain/errors.js';
import type { ParsedDocument } from '../domain/records.js';
import { decodeDocumentTree, type DocumentSyntax } from './decode-tree.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './ingest-limits.js';
import { csafCategoryOf, normalizeCsafVex } from './parse-csaf-vex.js';
import { normalizeCycloneDx } from './parse-cyclonedx.js';
import { isOpenVex, normalizeOpenVex } from './parse-openvex.js';
import { isGithubAdvisory, normalizeOsvAdvisory } from './parse-osv.js';
import { isSpdx2, normalizeSpdx } from './parse-spdx.js';
import { malformed, unrecognized, type JsonObject } from './read-fields.js';

// Raw document bytes → normalized records. Detection reads the content only; the file
// name in `sourceUri` only breaks the JSON/YAML tie for unparseable text and names the
// SBOM subject when the document names none.
export function parseDocument(
  bytes: Uint8Array,
  sourceUri: string,
  limits: IngestLimits = DEFAULT_INGEST_LIMITS,
): ParsedDocument {
  try {
    const { root, syntax } = decodeDocumentTree(bytes, sourceUri);
    const parsed = parseTree(root, syntax, fileNameOf(sourceUri));
    checkComponentCount(parsed, limits.maxSbomComponents);

    return parsed;
  } catch (err) {
    throw withSourceUri(err, sourceUri);
  }
}

function parseTree(root: JsonObject, syntax: DocumentSyntax, fileName: string): ParsedDocument {
  if (isSpdx3(root)) throw unrecognized('SPDX 3 documents are not supported yet');

  if (typeof root.spdxVersion === 'string') return parseSpdx(root, fileName);

  if (isOpenVex(root)) {
    return vexDocument('openvex', 'application/openvex+json', normalizeOpenVex(root));
  }

  const csafCategory = csafCategoryOf(root);
  if (csafCategory !== undefined) return parseCsaf(root, csafCategory);

  if (root.bomFormat === 'CycloneDX') return parseCycloneDx(root, fileName);

  if (isOsv(root)) return parseOsv(root, syntax);

  throw unrecognized('document is none of OSV, GHSA, OpenVEX, CSAF VEX, CycloneDX, SPDX 2');
}

// Counted after normalizing, so CycloneDX nested components and SPDX packages count alike;
// the 32 MiB size limit bounds the work done before the count is known.
function checkComponentCount(parsed: ParsedDocument, limit: number): void {
  for (const sbom of parsed.sboms) {
    if (sbom.components.length > limit) {
      throw malformed(
        `SBOM lists ${sbom.components.length} components, over the ${limit}-component limit ` +
          '(maxSbomComponents, STELLA_INGEST_MAX_SBOM_COMPONENTS)',
      );
    }
  }
}

function isSpdx3(root: JsonObject): boolean {
  const contexts = [root['@context']].flat();
  const isSpdx3Context = (c: unknown) => typeof c === 'string' && c.includes('spdx.org/rdf/3');
  const version = typeof root.spdxVersion === 'string' ? root.spdxVersion : '';

  return contexts.some(isSpdx3Context) || version.startsWith('SPDX-3');
}

function parseSpdx(root: JsonObject, fileName: string): ParsedDocument {
  if (!isSpdx2(root)) {
    throw unrecognized(`SPDX version ${JSON.stringify(root.spdxVersion)} is not supported`);
  }

  return {
    format: 'spdx',
    mediaType: 'application/spdx+json',
    advisories: [],
    vexStatements: [],
    sboms: [normalizeSpdx(root, fileName)],
  };
}

function parseCsaf(root: JsonObject, category: string): ParsedDocument {
  if (category !== 'csaf_vex') {
    const shown = JSON.stringify(category);
    throw unrecognized(`CSAF category ${shown} is not supported, only csaf_vex`);
  }

  return vexDocument('csaf-vex', 'application/csaf+json', normalizeCsafVex(root));
}

function parseCycloneDx(root: JsonObject, fileName: string): ParsedDocument {
  const { sbom, vexStatements } = normalizeCycloneDx(root, fileName);

  return {
    format: vexStatements.length > 0 ? 'cyclonedx-vex' : 'cyclonedx-sbom',
    mediaType: 'application/vnd.cyclonedx+json',
    advisories: [],
    vexStatements,
    sboms: sbom === undefined ? [] : [sbom],
  };
}

// OSV has no marker field. Every OSV producer writes `modified` (required by the schema)
// or `schema_version`; an `id` with `affected` or `aliases` is also taken as OSV.
function isOsv(root: JsonObject): boolean {
  if ('schema_version' in root || 'modified' in root) return true;

  return 'id' in root && ('affected' in root || 'aliases' in root);
}

function parseOsv(root: JsonObject, syntax: DocumentSyntax): ParsedDocument {
  return {
    format: isGithubAdvisory(root) ? 'ghsa' : 'osv',
    mediaType: syntax === 'yaml' ? 'application/yaml' : 'application/json',
    advisories: [normalizeOsvAdvisory(root)],
    vexStatements: [],
    sboms: [],
  };
}

function vexDocument(
  format: ParsedDocument['format'],
  mediaType: string,
  vexStatements: ParsedDocument['vexStatements'],
): ParsedDocument {
  return { format, mediaType, advisories: [], vexStatements, sboms: [] };
}

function fileNameOf(sourceUri: string): string {
  const path = sourceUri.split(/[?#]/)[0];

  return path.split(/[/\\]/).filter((part) => part !== '').pop() ?? sourceUri;
}

// Parsers throw without details; the source is attached once, here.
function withSourceUri(err: unknown, sourceUri: string): unknown {
  if (!isStellaError(err)) return err;

  return new StellaError(err.code, err.message, {
    cause: err.cause,
    details: { ...err.details, sourceUri },
  });
}
