// A file name for an SBOM that is safe on every file system and never leaves its folder,
// whatever the subject is called, and unique per source document.
export function sbomFileName(sbom: { subject: string; format: string; documentSha256: string }) {
  const slug =
    sbom.subject
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[.-]+|[.-]+$/g, '')
      .slice(0, 80) || 'sbom';
  const extension = sbom.format === 'spdx' ? 'spdx.json' : 'cdx.json';

  return `${slug}.${sbom.documentSha256.slice(0, 12)}.${extension}`;
}
