import type { NormalizedSbom, SbomComponent } from '../domain/records.js';
import {
  malformed,
  objectsOf,
  optionalObject,
  optionalString,
  requiredString,
  stringsOf,
  type JsonObject,
} from './read-fields.js';
import {
  canonicalPurl,
  containerFromPurl,
  dropUndefined,
  readTimestamp,
} from './normalize-values.js';

// SPDX 2.2 and 2.3 JSON (https://spdx.github.io/spdx-spec/v2.3/). Files and snippets are
// not components here; only packages are.

const SPDX_2_VERSION = /^SPDX-(2\.\d+)$/;

export function isSpdx2(doc: JsonObject): boolean {
  return typeof doc.spdxVersion === 'string' && SPDX_2_VERSION.test(doc.spdxVersion);
}

export function normalizeSpdx(doc: JsonObject, fileName: string): NormalizedSbom {
  const specVersion = SPDX_2_VERSION.exec(requiredString(doc, 'spdxVersion', ''))?.[1];
  if (specVersion === undefined) throw malformed('spdxVersion is not an SPDX 2 version');

  const creationInfo = optionalObject(doc, 'creationInfo', '') ?? {};
  const packages = objectsOf(doc, 'packages', '').map((pkg, index) => ({
    pkg,
    component: componentOf(pkg, `packages[${index}]`),
  }));
  const described = describedPackage(doc, packages);

  return dropUndefined({
    format: 'spdx' as const,
    specVersion,
    subject: optionalString(doc, 'name', '') ?? fileName,
    subjectVersion: described?.component.version,
    ...(described ? containerOf(described.pkg, described.component) : {}),
    created: readTimestamp(creationInfo, 'created', 'creationInfo'),
    components: packages.map(({ component }) => component),
  });
}

interface IndexedPackage {
  pkg: JsonObject;
  component: SbomComponent;
}

// The document's subject is the package it DESCRIBES (`documentDescribes`, or the
// equivalent relationship); with several described packages none is the subject.
function describedPackage(
  doc: JsonObject,
  packages: IndexedPackage[],
): IndexedPackage | undefined {
  const documentId = optionalString(doc, 'SPDXID', '') ?? 'SPDXRef-DOCUMENT';
  const viaRelationships = objectsOf(doc, 'relationships', '')
    .filter((r) => r.spdxElementId === documentId && r.relationshipType === 'DESCRIBES')
    .map((r) => r.relatedSpdxElement);
  const ids = new Set([...stringsOf(doc, 'documentDescribes', ''), ...viaRelationships]);
  const matches = packages.filter(({ pkg }) => ids.has(pkg.SPDXID));

  return matches.length === 1 ? matches[0] : undefined;
}

function containerOf(pkg: JsonObject, component: SbomComponent) {
  if (component.purl === undefined) return {};

  const isOci = component.purl.startsWith('pkg:oci/');
  if (!isOci && pkg.primaryPackagePurpose !== 'CONTAINER') return {};

  return containerFromPurl(component.purl, 'described package purl');
}

function componentOf(pkg: JsonObject, where: string): SbomComponent {
  const purpose = optionalString(pkg, 'primaryPackagePurpose', where);

  return dropUndefined({
    purl: purlOf(pkg, where),
    name: requiredString(pkg, 'name', where),
    version: optionalString(pkg, 'versionInfo', where),
    // SPDX purposes (LIBRARY, OPERATING-SYSTEM …) lower-cased read as CycloneDX types.
    type: purpose?.toLowerCase(),
    hashes: objectsOf(pkg, 'checksums', where).map((checksum, index) =>
      hashOf(checksum, `${where}.checksums[${index}]`),
    ),
  });
}

function hashOf(checksum: JsonObject, where: string) {
  return {
    alg: cycloneDxAlgorithm(requiredString(checksum, 'algorithm', where)),
    content: requiredString(checksum, 'checksumValue', where),
  };
}

// Section 7.21 / annex F: a purl is an external ref of type `purl`. The first one wins.
function purlOf(pkg: JsonObject, where: string): string | undefined {
  const refs = objectsOf(pkg, 'externalRefs', where);
  const index = refs.findIndex((ref) => ref.referenceType === 'purl');
  if (index < 0) return undefined;

  const refWhere = `${where}.externalRefs[${index}]`;
  const locator = requiredString(refs[index], 'referenceLocator', refWhere);

  return canonicalPurl(locator, `${refWhere}.referenceLocator`);
}

// SPDX spells SHA256, SHA3_256, BLAKE2b-256; CycloneDX spells SHA-256, SHA3-256,
// BLAKE2b-256. One spelling lets hashes from both formats be compared.
function cycloneDxAlgorithm(algorithm: string): string {
  const sha = /^SHA(\d+)$/.exec(algorithm);
  if (sha !== null) return `SHA-${sha[1]}`;

  return algorithm.replace(/^(SHA3|BLAKE2b)_(\d+)$/, '$1-$2');
}
