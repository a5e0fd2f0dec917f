-- CreateTable
CREATE TABLE "policies" (
    "tenant" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "document" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,

    PRIMARY KEY ("tenant", "version")
);

-- CreateTable
CREATE TABLE "audit_entries" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenant" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "details" TEXT NOT NULL,
    "at" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_export_runs" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenant" TEXT NOT NULL,
    "profileId" TEXT NOT NULL,
    "profileKind" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "filters" TEXT NOT NULL,
    "options" TEXT NOT NULL DEFAULT '{}',
    "policyVersion" TEXT,
    "idempotencyKey" TEXT,
    "requestHash" TEXT,
    "workflowId" TEXT NOT NULL,
    "counts" TEXT,
    "progress" TEXT,
    "bundleDir" TEXT,
    "artifactUri" TEXT,
    "artifactSha256" TEXT,
    "manifestUri" TEXT,
    "manifestSha256" TEXT,
    "signatureUri" TEXT,
    "provenanceUri" TEXT,
    "sizeBytes" BIGINT,
    "errorClass" TEXT,
    "errorMessage" TEXT,
    "createdAt" DATETIME NOT NULL,
    "startedAt" DATETIME,
    "finishedAt" DATETIME
);
INSERT INTO "new_export_runs" ("artifactSha256", "artifactUri", "bundleDir", "counts", "createdAt", "errorClass", "errorMessage", "filters", "finishedAt", "id", "idempotencyKey", "manifestSha256", "manifestUri", "policyVersion", "profileId", "profileKind", "progress", "provenanceUri", "requestHash", "signatureUri", "sizeBytes", "startedAt", "state", "tenant", "trigger", "workflowId") SELECT "artifactSha256", "artifactUri", "bundleDir", "counts", "createdAt", "errorClass", "errorMessage", "filters", "finishedAt", "id", "idempotencyKey", "manifestSha256", "manifestUri", "policyVersion", "profileId", "profileKind", "progress", "provenanceUri", "requestHash", "signatureUri", "sizeBytes", "startedAt", "state", "tenant", "trigger", "workflowId" FROM "export_runs";
DROP TABLE "export_runs";
ALTER TABLE "new_export_runs" RENAME TO "export_runs";
CREATE INDEX "export_runs_tenant_state_idx" ON "export_runs"("tenant", "state");
CREATE INDEX "export_runs_tenant_profileId_idx" ON "export_runs"("tenant", "profileId");
CREATE INDEX "export_runs_tenant_createdAt_idx" ON "export_runs"("tenant", "createdAt");
CREATE UNIQUE INDEX "export_runs_tenant_idempotencyKey_key" ON "export_runs"("tenant", "idempotencyKey");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "audit_entries_tenant_at_idx" ON "audit_entries"("tenant", "at");

