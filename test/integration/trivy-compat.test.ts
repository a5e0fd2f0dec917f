// The real Trivy scanner reads the DB we build from the fixture advisories and must report
// exactly the findings listed in test/fixtures/evidence/advisories/EXPECTED.md for the
// lockfiles in test/fixtures/lockfiles (npm: 12, django: 25, log4j-core: 4), plus a go.mod
// written here for the two Go sections of that file (gin: 3, x/text: 3).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { buildTrivyDb } from '../../adapters/trivy/build-trivy-db.js';
import { buildTrivyJavaDb } from '../../adapters/trivy/java-db.js';
import type { NormalizedAdvisory } from '../../domain/records.js';
import { parseDocument } from '../../ingest/parse-document.js';
import {
  type TrivyFinding,
  ensureTrivy,
  installDbArchive,
  scanWithTrivy,
  storedZip,
} from '../support/trivy.js';

const fixtures = resolve(import.meta.dirname, '../fixtures');
const advisoriesDir = join(fixtures, 'evidence/advisories');
const work = mkdtempSync(join(tmpdir(), 'trivy-compat-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Severities are not in EXPECTED.md: these are database_specific.severity of the GHSA records
// (MODERATE shows as MEDIUM). CVEs known only from PYSEC records carry no severity at all.
const GHSA_SEVERITY: Record<string, string> = {
  'CVE-2020-8203': 'HIGH',
  'CVE-2021-23337': 'HIGH',
  'CVE-2020-28500': 'MEDIUM',
  'CVE-2020-7598': 'MEDIUM',
  'CVE-2021-44906': 'CRITICAL',
  'CVE-2020-28168': 'MEDIUM',
  'CVE-2021-3749': 'HIGH',
  'CVE-2023-45857': 'MEDIUM',
  'CVE-2022-0155': 'HIGH',
  'CVE-2022-0536': 'MEDIUM',
  'CVE-2023-26159': 'MEDIUM',
  'CVE-2024-28849': 'MEDIUM',
  'CVE-2021-33203': 'MEDIUM',
  'CVE-2022-28346': 'CRITICAL',
  'CVE-2022-34265': 'CRITICAL',
  'CVE-2021-44228': 'CRITICAL',
  'CVE-2021-45046': 'CRITICAL',
  'CVE-2021-45105': 'HIGH',
  'CVE-2021-44832': 'MEDIUM',
  'CVE-2023-26125': 'MEDIUM',
  'CVE-2023-29401': 'MEDIUM',
  'CVE-2021-38561': 'HIGH',
  'CVE-2022-32149': 'HIGH',
};

// `go 1.20` has no patch level, so Trivy adds no `stdlib` package (the fixtures hold many
// standard-library advisories that EXPECTED.md does not cover).
const GO_MOD = `module example.com/fixture

go 1.20

require (
\tgithub.com/gin-gonic/gin v1.6.0
\tgolang.org/x/text v0.3.5
)
`;

interface ExpectedFinding {
  pkg: string; // name@version as Trivy reports PkgName/InstalledVersion
  id: string;
  fixed: string;
}

// Sections "## <ecosystem> `name@version`" (or `name==version`) of the scanned ecosystems,
// each with tables whose rows name a CVE and a fixed version.
function expectedFindings(): ExpectedFinding[] {
  const text = readFileSync(join(advisoriesDir, 'EXPECTED.md'), 'utf8');
  const sections = text.split(/^## /m).slice(1);
  const found = new Map<string, ExpectedFinding>();
  for (const section of sections) {
    const heading = /^(npm|PyPI|Maven|Go) `([^`@=]+)(?:@|==)([^`]+)`/.exec(section);
    if (!heading) continue;

    for (const row of tableRows(section)) {
      const finding = { pkg: `${heading[2]}@${heading[3]}`, id: row.cve, fixed: row.fixed };
      found.set(`${finding.pkg} ${finding.id}`, finding);
    }
  }

  return [...found.values()].sort((a, b) => (`${a.pkg} ${a.id}` < `${b.pkg} ${b.id}` ? -1 : 1));
}

function tableRows(section: string): { cve: string; fixed: string }[] {
  const rows: { cve: string; fixed: string }[] = [];
  let fixedColumn = -1;
  for (const line of section.split('\n').filter((l) => l.startsWith('|'))) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const headerFix = cells.findIndex((c) => /fix/i.test(c));
    if (cells[0] === 'Advisory' || cells[0] === 'PYSEC id') fixedColumn = headerFix;
    const cve = cells.map((c) => /^CVE-\d+-\d+/.exec(c)?.[0]).find(Boolean);
    if (cve && fixedColumn >= 0) rows.push({ cve, fixed: cells[fixedColumn].replace(/^v/, '') });
  }

  return rows;
}

async function* fixtureAdvisories(): AsyncGenerator<NormalizedAdvisory> {
  for (const file of walk(advisoriesDir)) {
    yield* parseDocument(readFileSync(file), file).advisories;
  }
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (/\.(json|ya?ml)$/.test(name)) yield path;
  }
}

describe('trivy:db export read by the real trivy', () => {
  let findings: TrivyFinding[] = [];
  let skipReason: string | undefined;

  before(async () => {
    const trivy = await ensureTrivy();
    if ('reason' in trivy) {
      skipReason = `trivy binary unavailable: ${trivy.reason}`;
      return;
    }

    const outDir = join(work, 'out');
    await buildTrivyDb({
      advisories: fixtureAdvisories(),
      outDir,
      now: new Date('2026-09-01T00:00:00Z'),
    });
    const cacheDir = join(work, 'cache');
    await installDbArchive(join(outDir, 'db.tar.gz'), cacheDir);
    const project = join(work, 'project');
    cpSync(join(fixtures, 'lockfiles'), project, { recursive: true });
    writeFileSync(join(project, 'go.mod'), GO_MOD);
    findings = await scanWithTrivy(trivy.path, cacheDir, project);
  });

  describe('trivy fs --skip-db-update --offline-scan over the fixture lockfiles', () => {
    it('returns exactly the vulnerability IDs of EXPECTED.md per package', (t) => {
      if (skipReason) return t.skip(skipReason);

      const actual = findings
        .map((f) => `${f.pkgName}@${f.installedVersion} ${f.vulnerabilityId}`)
        .sort();
      const expected = expectedFindings().map((e) => `${e.pkg} ${e.id}`);

      assert.deepEqual(actual, expected);
      assert.equal(expected.length, 12 + 25 + 4 + 3 + 3);
    });

    it('returns the fixed version of EXPECTED.md among the fixed versions of each finding', (t) => {
      if (skipReason) return t.skip(skipReason);

      for (const e of expectedFindings()) {
        const f = findings.find(
          (x) => `${x.pkgName}@${x.installedVersion}` === e.pkg && x.vulnerabilityId === e.id,
        );
        assert.ok(
          f?.fixedVersion.split(', ').includes(e.fixed),
          `${e.pkg} ${e.id}: ${f?.fixedVersion} lacks ${e.fixed}`,
        );
      }
    });

    it('returns the GHSA severity where the evidence has one and UNKNOWN elsewhere', (t) => {
      if (skipReason) return t.skip(skipReason);

      const actual = Object.fromEntries(findings.map((f) => [f.vulnerabilityId, f.severity]));
      const expected = Object.fromEntries(
        findings.map((f) => [f.vulnerabilityId, GHSA_SEVERITY[f.vulnerabilityId] ?? 'UNKNOWN']),
      );

      assert.deepEqual(actual, expected);
    });
  });
});

const LOG4J = 'org.apache.logging.log4j:log4j-core@2.14.1';

// A JAR with no pom.properties and no manifest: Trivy can only name it by its SHA-1.
function writeAnonymousJar(path: string): string {
  const jar = storedZip([{ name: 'org/example/Hello.class', data: Buffer.from('not a class') }]);
  writeFileSync(path, jar);

  return createHash('sha1').update(jar).digest('hex');
}

describe('trivy:java-db export read by the real trivy', () => {
  let findings: TrivyFinding[] = [];
  let skipReason: string | undefined;

  before(async () => {
    const trivy = await ensureTrivy();
    if ('reason' in trivy) {
      skipReason = `trivy binary unavailable: ${trivy.reason}`;
      return;
    }

    const now = new Date('2026-09-01T00:00:00Z');
    const project = join(work, 'jar-project');
    mkdirSync(join(project, 'libs'), { recursive: true });
    const sha1 = writeAnonymousJar(join(project, 'libs/vendored.jar'));
    const [groupId, artifactId, version] = LOG4J.replace('@', ':').split(':');
    async function* artifacts() {
      yield { groupId, artifactId, version, sha1, archiveType: 'jar' as const };
    }
    const cacheDir = join(work, 'jar-cache');
    await buildTrivyDb({ advisories: fixtureAdvisories(), outDir: join(work, 'jar-db'), now });
    await installDbArchive(join(work, 'jar-db/db.tar.gz'), cacheDir);
    await buildTrivyJavaDb({ artifacts: artifacts(), outDir: join(work, 'java-db'), now });
    await installDbArchive(join(work, 'java-db/javadb.tar.gz'), cacheDir, 'java-db');
    findings = await scanWithTrivy(trivy.path, cacheDir, project, 'rootfs');
  });

  describe('trivy rootfs over a JAR known only by its SHA-1', () => {
    it('returns the log4j-core findings of EXPECTED.md at the JAR', (t) => {
      if (skipReason) return t.skip(skipReason);

      const actual = findings.map((f) => `${f.pkgName}@${f.installedVersion} ${f.vulnerabilityId}`);
      const expected = expectedFindings().filter((e) => e.pkg === LOG4J);

      assert.deepEqual(
        actual.sort(),
        expected.map((e) => `${e.pkg} ${e.id}`),
      );
      assert.deepEqual([...new Set(findings.map((f) => f.type))], ['jar']);
    });
  });
});
