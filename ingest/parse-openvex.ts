import type { NormalizedVexStatement } from '../domain/records.js';
import {
  arrayOf,
  isJsonObject,
  malformed,
  objectsOf,
  optionalObject,
  optionalString,
  optionalText,
  stringsOf,
  type JsonObject,
} from './read-fields.js';
import {
  canonicalPurl,
  looksLikePurl,
  optionalTimestamp,
  sortedUnique,
} from './normalize-values.js';
import { vexStatement, vexStatusOf } from './vex-statement.js';

export function isOpenVex(doc: JsonObject): boolean {
  const context = doc['@context'];
  const contexts = Array.isArray(context) ? context : [context];

  return contexts.some((c) => typeof c === 'string' && c.startsWith('https://openvex.dev/ns'));
}

// OpenVEX 0.2.0 (https://github.com/openvex/spec); the 0.0.x forms (vulnerability as a
// string, products as strings, statement-level subcomponents) are read as well.
export function normalizeOpenVex(doc: JsonObject): NormalizedVexStatement[] {
  const issuer = optionalString(doc, 'author', 'OpenVEX document');
  const timestamp = optionalString(doc, 'timestamp', 'OpenVEX document');
  const defaults = { issuer, timestamp };

  return objectsOf(doc, 'statements', '').flatMap((statement, index) =>
    statementsOf(statement, `statements[${index}]`, defaults),
  );
}

interface DocumentDefaults {
  issuer?: string;
  timestamp?: string;
}

function statementsOf(
  statement: JsonObject,
  where: string,
  defaults: DocumentDefaults,
): NormalizedVexStatement[] {
  const vulnerability = vulnerabilityOf(statement, where);
  const products = arrayOf(statement, 'products', `OpenVEX ${where}`);
  if (products.length === 0) throw malformed(`OpenVEX ${where} names no products`);

  const shared = sharedFields(statement, where, defaults);
  // OpenVEX 0.0.x put subcomponents on the statement; 0.2.0 puts them on each product.
  const statementSubcomponents = arrayOf(statement, 'subcomponents', `OpenVEX ${where}`);

  return products.map((product, index) => {
    const productWhere = `OpenVEX ${where}.products[${index}]`;

    return vexStatement({
      ...vulnerability,
      product: productIdOf(product, productWhere),
      subcomponents: [...statementSubcomponents, ...subcomponentsOf(product, productWhere)].map(
        (id) => productIdOf(id, `${productWhere} subcomponent`),
      ),
      ...shared,
    });
  });
}

function vulnerabilityOf(statement: JsonObject, where: string) {
  const value = statement.vulnerability;
  if (typeof value === 'string') return { vulnerability: value, aliases: [] };

  if (!isJsonObject(value)) throw malformed(`OpenVEX ${where} has no vulnerability`);

  const vulnerabilityWhere = `OpenVEX ${where}.vulnerability`;
  const name = optionalString(value, 'name', vulnerabilityWhere) ??
    optionalString(value, '@id', vulnerabilityWhere);
  if (name === undefined) throw malformed(`${vulnerabilityWhere} has no name or @id`);

  const aliases = sortedUnique(stringsOf(value, 'aliases', vulnerabilityWhere));

  return { vulnerability: name, aliases };
}

function sharedFields(statement: JsonObject, where: string, defaults: DocumentDefaults) {
  const statementWhere = `OpenVEX ${where}`;
  const status = optionalString(statement, 'status', statementWhere);
  const timestamp = optionalString(statement, 'timestamp', statementWhere) ?? defaults.timestamp;

  return {
    status: vexStatusOf(status, `${statementWhere}.status`),
    justification: optionalText(statement, 'justification', statementWhere),
    impactStatement: optionalText(statement, 'impact_statement', statementWhere),
    actionStatement: optionalText(statement, 'action_statement', statementWhere),
    issuer: defaults.issuer,
    timestamp: optionalTimestamp(timestamp, `${statementWhere}.timestamp`),
  };
}

// A product is an `@id` string or an object with `@id` and optional `identifiers.purl`.
// The purl wins when `@id` is some other IRI, so matching by purl works.
function productIdOf(product: unknown, where: string): string {
  if (typeof product === 'string') return purlOrId(product, where);

  if (!isJsonObject(product)) throw malformed(`${where} is neither a string nor an object`);

  const id = optionalString(product, '@id', where);
  const identifiers = optionalObject(product, 'identifiers', where) ?? {};
  const purl = optionalString(identifiers, 'purl', `${where}.identifiers`);
  if (id !== undefined && (looksLikePurl(id) || purl === undefined)) return purlOrId(id, where);

  if (purl !== undefined) return canonicalPurl(purl, `${where}.identifiers.purl`);

  throw malformed(`${where} has no @id`);
}

function purlOrId(id: string, where: string): string {
  return looksLikePurl(id) ? canonicalPurl(id, where) : id;
}

function subcomponentsOf(product: unknown, where: string): unknown[] {
  return isJsonObject(product) ? arrayOf(product, 'subcomponents', where) : [];
}
