import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Writes redaction/schema-fields/<format>.json: every property name the official JSON schema
// of a format declares, and the names whose value is free-form by that schema (an object
// with no declared properties), below which the screen checks no keys.
//
// Usage: node --import tsx redaction/generate-schema-fields.ts SOURCE_DIR
//
// SOURCE_DIR holds the schema files named in SCHEMA_SETS, taken from:
//   npm pack @cyclonedx/cyclonedx-library@10.3.0      → package/res/schema/*.schema.json
//   npm pack @secvisogram/csaf-validator-lib@2.0.10   → package/lib/schemaTests/csaf_2_0/
//       schema.js as csaf-2.0.schema.js, package/schemas/cvss-v*.js as cvss-v*.schema.js
//   github spdx/spdx-spec schemas/spdx-schema.json    → spdx-2.3.schema.json (branch
//       support/2.3), spdx-2.2.schema.json (branch development/v2.2.2)
//   github ossf/osv-schema validation/schema.json     → osv.schema.json
//   github openvex/spec openvex_json_schema.json      → openvex.schema.json
// The `source` line of each output names the exact version or commit used.

interface SchemaSet {
  output: string;
  source: string;
  files: string[];
  // Names real producers write that the schema lacks, each set with the reason it is kept:
  // a real document must not be withheld for them (test/unit/redaction checks every fixture).
  extra?: { names: string[]; why: string };
}

const CYCLONEDX_LIBRARY = 'npm @cyclonedx/cyclonedx-library@10.3.0 res/schema';
const CYCLONEDX_SHARED = ['jsf-0.82.SNAPSHOT.schema.json', 'spdx.SNAPSHOT.schema.json'];
const SPDX_SCHEMA = 'schemas/spdx-schema.json';
const CVSS = ['cvss-v2.0.schema.js', 'cvss-v3.0.schema.js', 'cvss-v3.1.schema.js'];

export const SCHEMA_SETS: SchemaSet[] = [
  ...['1.2', '1.3', '1.4', '1.5', '1.6'].map((version) => ({
    output: `cyclonedx-${version}.json`,
    source: `${CYCLONEDX_LIBRARY}/bom-${version}.SNAPSHOT.schema.json`,
    files: [`bom-${version}.SNAPSHOT.schema.json`, ...CYCLONEDX_SHARED],
  })),
  {
    output: 'csaf-2.0.json',
    source:
      'npm @secvisogram/csaf-validator-lib@2.0.10 lib/schemaTests/csaf_2_0/schema.js ' +
      'with schemas/cvss-v2.0.js, cvss-v3.0.js, cvss-v3.1.js',
    files: ['csaf-2.0.schema.js', ...CVSS],
  },
  {
    output: 'spdx-2.3.json',
    source: `github spdx/spdx-spec@ed8c9b520963b651fce3c86422b387e92e6d9a8f ${SPDX_SCHEMA}`,
    files: ['spdx-2.3.schema.json'],
  },
  {
    output: 'spdx-2.2.json',
    source: `github spdx/spdx-spec@e3a5c7bb395c7c8b4bb55e7eaf9cb42661de9872 ${SPDX_SCHEMA}`,
    files: ['spdx-2.2.schema.json'],
  },
  {
    output: 'osv.json',
    source:
      'github ossf/osv-schema@51b8156b69b9e2e9ff2301e649db61636067fcfa validation/schema.json',
    files: ['osv.schema.json'],
  },
  {
    output: 'openvex.json',
    source:
      'github openvex/spec@d29fab0c81cfea04159436d54c3edc32947039ac openvex_json_schema.json',
    files: ['openvex.schema.json'],
    extra: {
      names: ['statement'],
      why: 'written by openvex/vexctl (examples/sarif/*.openvex.json), not in the schema',
    },
  },
];

type SchemaNode = Record<string, unknown>;

export interface SchemaFields {
  source: string;
  names: string[];
  freeForm: string[];
  extra?: SchemaSet['extra'];
}

export function schemaFieldsOf(schemas: SchemaNode[], set: SchemaSet): SchemaFields {
  const names = new Set<string>();
  const freeForm = new Set<string>();
  for (const schema of schemas) {
    visitNodes(schema, (node) => {
      for (const [name, property] of Object.entries(propertiesOf(node))) {
        names.add(name);
        if (isFreeForm(property, schema)) freeForm.add(name);
      }
    });
  }

  set.extra?.names.forEach((name) => names.add(name));
  const extra = set.extra ? { extra: set.extra } : {};

  const sorted = { names: [...names].sort(), freeForm: [...freeForm].sort() };

  return { source: set.source, ...sorted, ...extra };
}

function propertiesOf(node: SchemaNode): Record<string, unknown> {
  const properties = node.properties;

  return isNode(properties) ? properties : {};
}

// Every schema object anywhere in the document: definitions, nested properties, items,
// combinators. Keys of `properties` are names, not schemas, but their values are.
function visitNodes(value: unknown, visit: (node: SchemaNode) => void): void {
  if (Array.isArray(value)) {
    value.forEach((item) => visitNodes(item, visit));

    return;
  }
  if (!isNode(value)) {
    return;
  }
  visit(value);
  for (const [key, child] of Object.entries(value)) {
    if (key === 'enum' || key === 'const' || key === 'examples' || key === 'default') continue;
    visitNodes(child, visit);
  }
}

// An object (or array of objects) whose keys the schema does not declare. A `$ref` is
// followed inside the same document; one to another document counts as declared.
function isFreeForm(value: unknown, root: SchemaNode, depth = 0): boolean {
  if (!isNode(value) || depth > 8) {
    return false;
  }
  const node = resolveLocal(value, root);
  if (node === undefined) {
    return false;
  }
  if (node.type === 'array' || isNode(node.items)) {
    return isFreeForm(node.items, root, depth + 1);
  }
  const declares = ['properties', 'patternProperties', 'allOf', 'anyOf', 'oneOf', '$ref'];
  if (declares.some((key) => key in node)) {
    return false;
  }

  return node.type === 'object' && node.additionalProperties !== false;
}

function resolveLocal(node: SchemaNode, root: SchemaNode): SchemaNode | undefined {
  const ref = node.$ref;
  if (typeof ref !== 'string') {
    return node;
  }
  if (!ref.startsWith('#/')) {
    return undefined;
  }
  let target: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    target = isNode(target) ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }

  return isNode(target) ? target : undefined;
}

function isNode(value: unknown): value is SchemaNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

async function loadSchema(file: string): Promise<SchemaNode> {
  if (file.endsWith('.js')) {
    const module = (await import(pathToFileURL(file).href)) as { default: SchemaNode };

    return module.default;
  }

  return JSON.parse(await readFile(file, 'utf8')) as SchemaNode;
}

async function generate(sourceDir: string): Promise<void> {
  const outputDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'schema-fields');
  for (const set of SCHEMA_SETS) {
    const files = set.files.map((file) => path.join(sourceDir, file));
    const schemas = await Promise.all(files.map(loadSchema));
    const fields = schemaFieldsOf(schemas, set);
    await writeFile(path.join(outputDir, set.output), JSON.stringify(fields, null, 2) + '\n');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sourceDir = process.argv[2];
  if (!sourceDir) {
    throw new Error('usage: generate-schema-fields.ts SOURCE_DIR');
  }
  await generate(path.resolve(sourceDir));
}
