import { GRAPH_SCHEMA } from './mirror-layout.js';

// The component graph of one SBOM, for sboms/graph/: nodes are the document's components,
// edges its dependency (and containment) relationships. Read from the raw document, since
// the normalized record keeps components but not how they relate.

export interface GraphNode {
  ref: string;
  name?: string;
  version?: string;
  purl?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  type: string;
}

export interface SbomGraph {
  schema: typeof GRAPH_SCHEMA;
  documentSha256: string;
  subject: string;
  format: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

type Json = Record<string, unknown>;

export function sbomGraph(
  sbom: { subject: string; format: string; documentSha256: string },
  bytes: Uint8Array,
): SbomGraph {
  const doc = parseObject(bytes);
  const { nodes, edges } = doc ? graphOf(doc) : { nodes: [], edges: [] };

  return {
    schema: GRAPH_SCHEMA,
    documentSha256: sbom.documentSha256,
    subject: sbom.subject,
    format: sbom.format,
    nodes: dedupe(nodes, (n) => n.ref).sort((a, b) => compare(a.ref, b.ref)),
    edges: dedupe(edges, (e) => `${e.from}\n${e.to}\n${e.type}`).sort(compareEdges),
  };
}

function graphOf(doc: Json): { nodes: GraphNode[]; edges: GraphEdge[] } {
  if (doc.bomFormat === 'CycloneDX') {
    return cycloneDxGraph(doc);
  }
  if (typeof doc.spdxVersion === 'string') {
    return spdx2Graph(doc);
  }
  if (Array.isArray(doc['@graph'])) {
    return spdx3Graph(doc['@graph'] as Json[]);
  }

  return { nodes: [], edges: [] };
}

function cycloneDxGraph(doc: Json) {
  const nodes: GraphNode[] = [];
  const visit = (components: unknown) => {
    for (const component of objects(components)) {
      const ref = text(component['bom-ref']) ?? text(component.purl) ?? text(component.name);
      if (ref) {
        nodes.push(node(ref, component.name, component.version, component.purl));
      }
      visit(component.components);
    }
  };
  const metadata = (doc.metadata ?? {}) as Json;
  visit(metadata.component ? [metadata.component] : []);
  visit(doc.components);
  const edges = objects(doc.dependencies).flatMap((dependency) =>
    strings(dependency.dependsOn).map((to) => edge(dependency.ref, to, 'DEPENDS_ON')),
  );

  return { nodes, edges: edges.filter((e): e is GraphEdge => e !== undefined) };
}

function spdx2Graph(doc: Json) {
  const nodes = objects(doc.packages).flatMap((pkg) => {
    const ref = text(pkg.SPDXID);
    const purl = objects(pkg.externalRefs).find((r) => r.referenceType === 'purl')?.referenceLocator;

    return ref ? [node(ref, pkg.name, pkg.versionInfo, purl)] : [];
  });
  const edges = objects(doc.relationships).map((r) =>
    edge(r.spdxElementId, r.relatedSpdxElement, r.relationshipType),
  );

  return { nodes, edges: edges.filter((e): e is GraphEdge => e !== undefined) };
}

function spdx3Graph(elements: Json[]) {
  const nodes = elements
    .filter((e) => e.type === 'software_Package')
    .flatMap((e) => {
      const ref = text(e.spdxId) ?? text(e['@id']);

      return ref ? [node(ref, e.name, e.software_packageVersion, e.software_packageUrl)] : [];
    });
  const edges = elements
    .filter((e) => typeof e.type === 'string' && e.type.endsWith('Relationship'))
    .flatMap((r) => strings(r.to).map((to) => edge(r.from, to, r.relationshipType)));

  return { nodes, edges: edges.filter((e): e is GraphEdge => e !== undefined) };
}

function node(ref: string, name: unknown, version: unknown, purl: unknown): GraphNode {
  const found: GraphNode = { ref };
  if (text(name)) found.name = text(name);
  if (text(version)) found.version = text(version);
  if (text(purl)) found.purl = text(purl);

  return found;
}

function edge(from: unknown, to: unknown, type: unknown): GraphEdge | undefined {
  const [f, t] = [text(from), text(to)];

  return f && t ? { from: f, to: t, type: text(type) ?? 'RELATED' } : undefined;
}

function parseObject(bytes: Uint8Array): Json | undefined {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;

    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function objects(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => !!v && typeof v === 'object') : [];
}

function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];

  return list.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function dedupe<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareEdges(a: GraphEdge, b: GraphEdge): number {
  return compare(a.from, b.from) || compare(a.to, b.to) || compare(a.type, b.type);
}
