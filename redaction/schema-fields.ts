import csaf20 from './schema-fields/csaf-2.0.json' with { type: 'json' };
import cyclonedx12 from './schema-fields/cyclonedx-1.2.json' with { type: 'json' };
import cyclonedx13 from './schema-fields/cyclonedx-1.3.json' with { type: 'json' };
import cyclonedx14 from './schema-fields/cyclonedx-1.4.json' with { type: 'json' };
import cyclonedx15 from './schema-fields/cyclonedx-1.5.json' with { type: 'json' };
import cyclonedx16 from './schema-fields/cyclonedx-1.6.json' with { type: 'json' };
import openvex from './schema-fields/openvex.json' with { type: 'json' };
import osv from './schema-fields/osv.json' with { type: 'json' };
import spdx22 from './schema-fields/spdx-2.2.json' with { type: 'json' };
import spdx23 from './schema-fields/spdx-2.3.json' with { type: 'json' };

// The property names each format's published schema declares, generated into
// schema-fields/*.json by generate-schema-fields.ts (each file names its source).

export interface FieldList {
  names: ReadonlySet<string>;
  // Properties whose value is free-form by the schema: no key below them is checked.
  freeForm: ReadonlySet<string>;
}

export type FormatFamily = 'osv' | 'openvex' | 'csaf' | 'cyclonedx' | 'spdx';

interface GeneratedFields {
  names: string[];
  freeForm: string[];
}

const fieldList = (generated: GeneratedFields): FieldList => ({
  names: new Set(generated.names),
  freeForm: new Set(generated.freeForm),
});

const OSV = fieldList(osv);
const OPENVEX = fieldList(openvex);
const CSAF_BY_VERSION = new Map([['2.0', fieldList(csaf20)]]);
const CYCLONEDX_BY_VERSION = new Map([
  ['1.2', fieldList(cyclonedx12)],
  ['1.3', fieldList(cyclonedx13)],
  ['1.4', fieldList(cyclonedx14)],
  ['1.5', fieldList(cyclonedx15)],
  ['1.6', fieldList(cyclonedx16)],
]);
const SPDX_BY_VERSION = new Map([
  ['SPDX-2.2', fieldList(spdx22)],
  ['SPDX-2.3', fieldList(spdx23)],
]);

// Stored formats (domain/records.ts DocumentFormat) and SBOM row formats, by family.
const FAMILY_BY_FORMAT: Record<string, FormatFamily> = {
  osv: 'osv',
  ghsa: 'osv',
  openvex: 'openvex',
  'csaf-vex': 'csaf',
  'cyclonedx-sbom': 'cyclonedx',
  'cyclonedx-vex': 'cyclonedx',
  cyclonedx: 'cyclonedx',
  spdx: 'spdx',
};

export function familyOf(format: string): FormatFamily | undefined {
  return Object.hasOwn(FAMILY_BY_FORMAT, format) ? FAMILY_BY_FORMAT[format] : undefined;
}

// The field list for a document, or undefined when its format or version has no schema
// here (CycloneDX 1.7, SPDX 2.1, CSAF 2.1): such a document is withheld as a whole.
export function schemaFieldsFor(
  format: string,
  root: Record<string, unknown>,
): FieldList | undefined {
  switch (familyOf(format)) {
    case 'osv':
      return OSV;
    case 'openvex':
      return OPENVEX;
    case 'csaf':
      return CSAF_BY_VERSION.get(String(valueAt(root, 'document', 'csaf_version')));
    case 'cyclonedx':
      return CYCLONEDX_BY_VERSION.get(String(root.specVersion));
    case 'spdx':
      return SPDX_BY_VERSION.get(String(root.spdxVersion));
    default:
      return undefined;
  }
}

function valueAt(root: Record<string, unknown>, ...steps: string[]): unknown {
  return steps.reduce<unknown>((node, step) => (isObject(node) ? node[step] : undefined), root);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
