import type {
  NormalizedSbom,
  NormalizedVexStatement,
  SbomComponent,
  VexStatus,
  VexVersionState,
  VexVersionStatus,
} from '../domain/records.js';
import {
  arrayOf,
  malformed,
  objectsOf,
  optionalObject,
  optionalString,
  optionalText,
  requiredString,
  stringsOf,
  type JsonObject,
} from './read-fields.js';
import {
  containerFromPurl,
  dropUndefined,
  optionalTimestamp,
  readPurl,
  readTimestamp,
  sortedUnique,
} from './normalize-values.js';
import { vexStatement } from './vex-statement.js';

// CycloneDX 1.2–1.6 JSON (https://cyclonedx.org/docs/1.6/json/). XML BOMs are not read.

export interface CycloneDxResult {
  sbom?: NormalizedSbom;
  vexStatements: NormalizedVexStatement[];
}

// A BOM is an SBOM when it lists components or states no VEX analysis at all (a BOM with
// only `metadata.component` still names its subject); it is VEX when a vulnerability
// carries an `analysis`. A BOM can be both.
export function normalizeCycloneDx(doc: JsonObject, fileName: string): CycloneDxResult {
  const metadata = optionalObject(doc, 'metadata', '') ?? {};
  const subject = optionalObject(metadata, 'component', 'metadata');
  const components = flattenComponents(doc, '');
  const vexStatements = vexStatementsOf(doc, metadata, refIndexOf(doc, subject, components));
  const listsComponents = arrayOf(doc, 'components', '').length > 0;
  if (!listsComponents && vexStatements.length > 0) return { vexStatements };

  const bom: BomParts = { doc, metadata, subject, components, fileName };

  return { sbom: sbomOf(bom), vexStatements };
}

interface IndexedComponent {
  component: JsonObject;
  where: string;
}

interface BomParts {
  doc: JsonObject;
  metadata: JsonObject;
  subject?: JsonObject;
  components: IndexedComponent[];
  fileName: string;
}

// Nested `components[].components` are flattened depth first, keeping document order.
function flattenComponents(node: JsonObject, where: string): IndexedComponent[] {
  return objectsOf(node, 'components', where).flatMap((component, index) => {
    const componentWhere = `${where === '' ? '' : `${where}.`}components[${index}]`;
    const nested = flattenComponents(component, componentWhere);

    return [{ component, where: componentWhere }, ...nested];
  });
}

function sbomOf({ doc, metadata, subject, components, fileName }: BomParts): NormalizedSbom {
  const subjectWhere = 'metadata.component';
  const subjectName = subject && optionalString(subject, 'name', subjectWhere);

  return dropUndefined({
    format: 'cyclonedx' as const,
    specVersion: requiredString(doc, 'specVersion', 'CycloneDX BOM'),
    subject: subjectName ?? optionalString(doc, 'serialNumber', '') ?? fileName,
    subjectVersion: subject && optionalString(subject, 'version', subjectWhere),
    ...containerOf(subject),
    created: readTimestamp(metadata, 'timestamp', 'metadata'),
    components: components.map(({ component, where }) => componentOf(component, where)),
  });
}

function containerOf(subject: JsonObject | undefined) {
  if (subject?.type !== 'container') return {};

  const purl = readPurl(subject, 'purl', 'metadata.component');

  return purl === undefined ? {} : containerFromPurl(purl, 'metadata.component.purl');
}

function componentOf(component: JsonObject, where: string): SbomComponent {
  return dropUndefined({
    purl: readPurl(component, 'purl', where),
    name: requiredString(component, 'name', where),
    version: optionalString(component, 'version', where),
    type: optionalString(component, 'type', where),
    hashes: objectsOf(component, 'hashes', where).map((hash, index) => ({
      alg: requiredString(hash, 'alg', `${where}.hashes[${index}]`),
      content: requiredString(hash, 'content', `${where}.hashes[${index}]`),
    })),
  });
}

interface RefIndex {
  serial?: string;
  purlByRef: Map<string, string>;
}

// bom-ref → purl for every component in this BOM, the subject included.
function refIndexOf(
  doc: JsonObject,
  subject: JsonObject | undefined,
  components: IndexedComponent[],
): RefIndex {
  const subjectEntry = subject ? [{ component: subject, where: 'metadata.component' }] : [];
  const purlByRef = new Map<string, string>();
  for (const { component, where } of [...subjectEntry, ...components]) {
    const ref = optionalString(component, 'bom-ref', where);
    const purl = readPurl(component, 'purl', where);
    if (ref !== undefined && purl !== undefined) purlByRef.set(ref, purl);
  }

  return { serial: optionalString(doc, 'serialNumber', ''), purlByRef };
}

// `vulnerabilities[].analysis.state` of the 1.4+ schema.
const STATUS_BY_STATE: Record<string, VexStatus> = {
  resolved: 'fixed',
  resolved_with_pedigree: 'fixed',
  exploitable: 'affected',
  in_triage: 'under_investigation',
  not_affected: 'not_affected',
  false_positive: 'not_affected',
};

interface StatementContext {
  issuer?: string;
  timestamp?: string;
  refs: RefIndex;
}

function vexStatementsOf(
  doc: JsonObject,
  metadata: JsonObject,
  refs: RefIndex,
): NormalizedVexStatement[] {
  const context: StatementContext = {
    issuer: issuerOf(metadata),
    timestamp: optionalString(metadata, 'timestamp', 'metadata'),
    refs,
  };

  return objectsOf(doc, 'vulnerabilities', '').flatMap((vulnerability, index) => {
    const where = `vulnerabilities[${index}]`;
    const analysis = optionalObject(vulnerability, 'analysis', where);
    // Without an analysis the BOM only lists a finding (a scan report); that is no VEX claim.
    if (analysis === undefined) return [];

    return statementsOf(vulnerability, analysis, where, context);
  });
}

function statementsOf(
  vulnerability: JsonObject,
  analysis: JsonObject,
  where: string,
  context: StatementContext,
): NormalizedVexStatement[] {
  const id = optionalString(vulnerability, 'id', where);
  if (id === undefined) throw malformed(`CycloneDX ${where} has no id`);

  const affects = objectsOf(vulnerability, 'affects', where);
  if (affects.length === 0) throw malformed(`CycloneDX ${where} has an analysis but no affects`);

  const shared = analysisFields(vulnerability, analysis, where, context);
  const aliases = aliasesOf(vulnerability, id, where);

  return affects.map((affect, index) => {
    const affectWhere = `${where}.affects[${index}]`;
    const product = resolveRef(requiredString(affect, 'ref', affectWhere), context.refs);
    const versions = versionStatesOf(affect, affectWhere);

    return vexStatement({
      vulnerability: id,
      aliases,
      product,
      subcomponents: [],
      ...shared,
      ...(versions.length > 0 ? { versions } : {}),
    });
  });
}

const VERSION_STATUSES: readonly VexVersionStatus[] = ['affected', 'unaffected', 'unknown'];

// `affects[].versions[]`: each entry names one version or one `vers:` range, and its status
// defaults to affected (CycloneDX 1.4+ schema, `affectedStatus`). Kept in document order.
function versionStatesOf(affect: JsonObject, where: string): VexVersionState[] {
  return objectsOf(affect, 'versions', where).map((entry, index) => {
    const entryWhere = `${where}.versions[${index}]`;
    const version = optionalText(entry, 'version', entryWhere);
    const range = optionalText(entry, 'range', entryWhere);
    if ((version === undefined) === (range === undefined)) {
      throw malformed(`CycloneDX ${entryWhere} must name exactly one of version and range`);
    }

    const status = optionalString(entry, 'status', entryWhere) ?? 'affected';
    const known = VERSION_STATUSES.find((candidate) => candidate === status);
    if (known === undefined) {
      throw malformed(`${entryWhere}.status is unknown: ${JSON.stringify(status)}`);
    }

    return dropUndefined({ version, range, status: known });
  });
}

function analysisFields(
  vulnerability: JsonObject,
  analysis: JsonObject,
  where: string,
  context: StatementContext,
) {
  const analysisWhere = `${where}.analysis`;
  const responses = stringsOf(analysis, 'response', analysisWhere);
  const timestamp =
    optionalString(analysis, 'lastUpdated', analysisWhere) ??
    optionalString(vulnerability, 'updated', where) ??
    optionalString(vulnerability, 'published', where) ??
    context.timestamp;

  return {
    status: statusOf(requiredString(analysis, 'state', analysisWhere), analysisWhere),
    justification: optionalText(analysis, 'justification', analysisWhere),
    impactStatement: optionalText(analysis, 'detail', analysisWhere),
    actionStatement:
      optionalText(vulnerability, 'recommendation', where) ??
      (responses.length > 0 ? responses.join(', ') : undefined),
    issuer: context.issuer,
    timestamp: optionalTimestamp(timestamp, `${where} timestamp`),
  };
}

function statusOf(state: string, where: string): VexStatus {
  const status = STATUS_BY_STATE[state];
  if (status === undefined) {
    throw malformed(`${where}.state has unknown VEX status ${JSON.stringify(state)}`);
  }

  return status;
}

// `references[]` lists the same vulnerability under other sources' ids.
function aliasesOf(vulnerability: JsonObject, id: string, where: string): string[] {
  const ids = objectsOf(vulnerability, 'references', where).map((reference, index) =>
    optionalString(reference, 'id', `${where}.references[${index}]`),
  );

  return sortedUnique(ids.filter((alias): alias is string => Boolean(alias) && alias !== id));
}

// A ref is a bom-ref in this BOM or a BOM-Link (`urn:cdx:<serial>/<version>#<bom-ref>`,
// CycloneDX 1.5 "BOM-Link"). Links into this BOM resolve like local refs; refs this BOM
// cannot resolve stay as written.
function resolveRef(ref: string, refs: RefIndex): string {
  const local = refs.purlByRef.get(ref);
  if (local !== undefined) return local;

  const link = /^urn:cdx:([^/#]+)\/[^#]*#(.+)$/.exec(ref);
  const ownSerial = refs.serial?.replace(/^urn:uuid:/, '');
  if (link === null || link[1] !== ownSerial) return ref;

  return refs.purlByRef.get(safeDecode(link[2])) ?? ref;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

// 1.6 renamed `manufacture` to `manufacturer`; the supplier is the fallback.
function issuerOf(metadata: JsonObject): string | undefined {
  for (const key of ['manufacturer', 'manufacture', 'supplier']) {
    const party = optionalObject(metadata, key, 'metadata');
    const name = party && optionalString(party, 'name', `metadata.${key}`);
    if (name !== undefined) return name;
  }

  return undefined;
}
