import type { NormalizedVexStatement, VexStatus } from '../domain/records.js';
import {
  malformed,
  objectsOf,
  optionalObject,
  optionalString,
  optionalText,
  stringsOf,
  type JsonObject,
} from './read-fields.js';
import { canonicalPurl, readTimestamp, sortedUnique } from './normalize-values.js';
import { vexStatement } from './vex-statement.js';

// CSAF 2.0 (https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html), profile 4
// "VEX" (section 4.5). Each product_status list × product id is one statement.

// Section 3.2.3.9. `recommended` names a version to move to; it says nothing about
// whether the product is affected, so it yields no statement.
const STATUS_BY_LIST: Record<string, VexStatus | null> = {
  first_affected: 'affected',
  known_affected: 'affected',
  last_affected: 'affected',
  first_fixed: 'fixed',
  fixed: 'fixed',
  known_not_affected: 'not_affected',
  under_investigation: 'under_investigation',
  recommended: null,
};

export function csafCategoryOf(doc: JsonObject): string | undefined {
  const document = doc.document;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return undefined;
  }

  const { category, csaf_version: version } = document as JsonObject;
  const csafCategory = typeof category === 'string' && category.startsWith('csaf_');
  if (typeof version !== 'string' && !csafCategory) return undefined;

  return typeof category === 'string' ? category : '';
}

export function normalizeCsafVex(doc: JsonObject): NormalizedVexStatement[] {
  const document = optionalObject(doc, 'document', '') ?? {};
  const tracking = optionalObject(document, 'tracking', 'document') ?? {};
  const publisher = optionalObject(document, 'publisher', 'document') ?? {};
  const context: CsafContext = {
    products: productsOf(optionalObject(doc, 'product_tree', '') ?? {}),
    issuer: optionalString(publisher, 'name', 'document.publisher'),
    timestamp: readTimestamp(tracking, 'current_release_date', 'document.tracking'),
  };

  return objectsOf(doc, 'vulnerabilities', '').flatMap((vulnerability, index) =>
    statementsOf(vulnerability, `vulnerabilities[${index}]`, context),
  );
}

interface CsafContext {
  products: ProductIndex;
  issuer?: string;
  timestamp?: string;
}

interface ProductIndex {
  purlById: Map<string, string>;
  membersByGroup: Map<string, string[]>;
}

function statementsOf(
  vulnerability: JsonObject,
  where: string,
  context: CsafContext,
): NormalizedVexStatement[] {
  const { id, aliases } = identityOf(vulnerability, where);
  const statuses = optionalObject(vulnerability, 'product_status', where) ?? {};
  const notes = productNotesOf(vulnerability, where, context.products);

  return Object.keys(statuses).flatMap((list) => {
    const status = statusOfList(list, `${where}.product_status`);
    if (status === null) return [];

    return stringsOf(statuses, list, `${where}.product_status`).map((productId) =>
      vexStatement({
        vulnerability: id,
        aliases,
        product: context.products.purlById.get(productId) ?? productId,
        subcomponents: [],
        status,
        justification: notes.justification.get(productId)?.[0],
        impactStatement: joinedText(notes.impact.get(productId)),
        actionStatement: joinedText(notes.action.get(productId)),
        issuer: context.issuer,
        timestamp: context.timestamp,
      }),
    );
  });
}

function statusOfList(list: string, where: string): VexStatus | null {
  const status = STATUS_BY_LIST[list];
  if (status === undefined) throw malformed(`${where}.${list} is not a CSAF product status`);

  return status;
}

// The CVE is the usual identifier; `ids` holds the others (section 3.2.3.6).
function identityOf(vulnerability: JsonObject, where: string) {
  const cve = optionalString(vulnerability, 'cve', where);
  const ids = objectsOf(vulnerability, 'ids', where).map((entry, index) =>
    optionalString(entry, 'text', `${where}.ids[${index}]`),
  );
  const all = [cve, ...ids].filter((value): value is string => Boolean(value));
  if (all.length === 0) throw malformed(`CSAF ${where} has neither cve nor ids`);

  const [id, ...rest] = all;

  return { id, aliases: sortedUnique(rest.filter((alias) => alias !== id)) };
}

function joinedText(values: string[] | undefined): string | undefined {
  return values === undefined ? undefined : [...new Set(values)].join('\n');
}

// Flags carry the VEX justification label, impact threats the impact statement and
// remediations the action statement (section 4.5, tests 6.1.27.9–6.1.27.11).
function productNotesOf(vulnerability: JsonObject, where: string, products: ProductIndex) {
  const read = (key: string, field: string, accept: (entry: JsonObject) => boolean) => {
    const entries = objectsOf(vulnerability, key, where);

    return notesByProduct(entries, field, `${where}.${key}`, products, accept);
  };

  return {
    justification: read('flags', 'label', () => true),
    impact: read('threats', 'details', (threat) => threat.category === 'impact'),
    action: read('remediations', 'details', () => true),
  };
}

function notesByProduct(
  entries: JsonObject[],
  field: string,
  where: string,
  products: ProductIndex,
  accept: (entry: JsonObject) => boolean,
): Map<string, string[]> {
  const byProduct = new Map<string, string[]>();
  entries.forEach((entry, index) => {
    const text = optionalText(entry, field, `${where}[${index}]`);
    if (text === undefined || !accept(entry)) return;

    for (const productId of productIdsOf(entry, `${where}[${index}]`, products)) {
      byProduct.set(productId, [...(byProduct.get(productId) ?? []), text]);
    }
  });

  return byProduct;
}

function productIdsOf(entry: JsonObject, where: string, products: ProductIndex): string[] {
  const direct = stringsOf(entry, 'product_ids', where);
  const grouped = stringsOf(entry, 'group_ids', where).flatMap(
    (groupId) => products.membersByGroup.get(groupId) ?? [],
  );

  return [...direct, ...grouped];
}

// Product ids resolve to the purl of their product_identification_helper (section
// 3.1.3.3.6) wherever the tree defines one: branches, full_product_names, relationships.
function productsOf(tree: JsonObject): ProductIndex {
  const purlById = new Map<string, string>();
  const addProduct = (product: JsonObject, where: string) => {
    const id = optionalString(product, 'product_id', where);
    const helper = optionalObject(product, 'product_identification_helper', where) ?? {};
    const purl = optionalString(helper, 'purl', `${where}.product_identification_helper`);
    if (id === undefined || purl === undefined) return;

    purlById.set(id, canonicalPurl(purl, `${where}.product_identification_helper.purl`));
  };
  walkBranches(tree, 'product_tree', addProduct);
  objectsOf(tree, 'full_product_names', 'product_tree').forEach((product, index) =>
    addProduct(product, `product_tree.full_product_names[${index}]`),
  );
  objectsOf(tree, 'relationships', 'product_tree').forEach((relationship, index) => {
    const where = `product_tree.relationships[${index}]`;
    const product = optionalObject(relationship, 'full_product_name', where);
    if (product !== undefined) addProduct(product, `${where}.full_product_name`);
  });

  return { purlById, membersByGroup: groupsOf(tree) };
}

function walkBranches(
  node: JsonObject,
  where: string,
  visit: (product: JsonObject, where: string) => void,
): void {
  objectsOf(node, 'branches', where).forEach((branch, index) => {
    const branchWhere = `${where}.branches[${index}]`;
    const product = optionalObject(branch, 'product', branchWhere);
    if (product !== undefined) visit(product, `${branchWhere}.product`);

    walkBranches(branch, branchWhere, visit);
  });
}

function groupsOf(tree: JsonObject): Map<string, string[]> {
  const groups = objectsOf(tree, 'product_groups', 'product_tree').map((group, index) => {
    const where = `product_tree.product_groups[${index}]`;
    const groupId = optionalString(group, 'group_id', where) ?? '';

    return [groupId, stringsOf(group, 'product_ids', where)] as const;
  });

  return new Map(groups);
}
