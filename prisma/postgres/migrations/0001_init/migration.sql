-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "raw_documents" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "mediaType" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "sourceUri" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "ingestedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "raw_documents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "advisories" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "advisoryId" TEXT NOT NULL,
    "aliases" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "severityLevel" TEXT,
    "cvssVectors" TEXT NOT NULL,
    "cwes" TEXT NOT NULL,
    "published" TIMESTAMP(3),
    "modified" TIMESTAMP(3),
    "withdrawn" TIMESTAMP(3),
    "canonical" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "advisories_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "advisory_affected" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "advisoryRow" TEXT NOT NULL,
    "ecosystem" TEXT NOT NULL,
    "packageName" TEXT NOT NULL,
    "purl" TEXT,
    "fixed" TEXT NOT NULL,

    CONSTRAINT "advisory_affected_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vex_statements" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "vulnerability" TEXT NOT NULL,
    "product" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "justification" TEXT,
    "impactStatement" TEXT,
    "actionStatement" TEXT,
    "issuer" TEXT,
    "timestamp" TIMESTAMP(3),
    "canonical" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "vex_statements_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sboms" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "specVersion" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "subjectVersion" TEXT,
    "imageDigest" TEXT,
    "repository" TEXT,
    "tag" TEXT,
    "created" TIMESTAMP(3),
    "componentCount" INTEGER NOT NULL,
    "canonical" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "sboms_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sbom_components" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "sbomId" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "purl" TEXT,
    "name" TEXT NOT NULL,
    "version" TEXT,
    "type" TEXT,
    "hashes" TEXT NOT NULL,

    CONSTRAINT "sbom_components_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "export_profiles" (
    "tenant" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "variant" TEXT NOT NULL,
    "config" TEXT NOT NULL,
    "builtin" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "export_profiles_pkey" PRIMARY KEY ("tenant","id")
);

-- CreateTable
CREATE TABLE "export_runs" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "profileId" TEXT NOT NULL,
    "profileKind" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "filters" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "export_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "export_inputs" (
    "runId" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "recordId" TEXT NOT NULL,
    "documentSha256" TEXT NOT NULL,

    CONSTRAINT "export_inputs_pkey" PRIMARY KEY ("runId","kind","ordinal")
);

-- CreateTable
CREATE TABLE "export_distributions" (
    "id" TEXT NOT NULL,
    "tenant" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "metadata" TEXT NOT NULL,
    "errorClass" TEXT,
    "errorMessage" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "export_distributions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "raw_documents_tenant_sha256_key" ON "raw_documents"("tenant", "sha256");

-- CreateIndex
CREATE INDEX "advisories_tenant_advisoryId_idx" ON "advisories"("tenant", "advisoryId");

-- CreateIndex
CREATE INDEX "advisories_tenant_modified_idx" ON "advisories"("tenant", "modified");

-- CreateIndex
CREATE UNIQUE INDEX "advisories_tenant_documentId_advisoryId_key" ON "advisories"("tenant", "documentId", "advisoryId");

-- CreateIndex
CREATE INDEX "advisory_affected_tenant_ecosystem_packageName_idx" ON "advisory_affected"("tenant", "ecosystem", "packageName");

-- CreateIndex
CREATE INDEX "vex_statements_tenant_vulnerability_idx" ON "vex_statements"("tenant", "vulnerability");

-- CreateIndex
CREATE INDEX "vex_statements_tenant_product_idx" ON "vex_statements"("tenant", "product");

-- CreateIndex
CREATE UNIQUE INDEX "vex_statements_tenant_documentId_ordinal_key" ON "vex_statements"("tenant", "documentId", "ordinal");

-- CreateIndex
CREATE INDEX "sboms_tenant_subject_idx" ON "sboms"("tenant", "subject");

-- CreateIndex
CREATE UNIQUE INDEX "sboms_tenant_documentId_key" ON "sboms"("tenant", "documentId");

-- CreateIndex
CREATE INDEX "sbom_components_tenant_purl_idx" ON "sbom_components"("tenant", "purl");

-- CreateIndex
CREATE INDEX "sbom_components_sbomId_idx" ON "sbom_components"("sbomId");

-- CreateIndex
CREATE INDEX "export_profiles_tenant_kind_variant_idx" ON "export_profiles"("tenant", "kind", "variant");

-- CreateIndex
CREATE INDEX "export_runs_tenant_state_idx" ON "export_runs"("tenant", "state");

-- CreateIndex
CREATE INDEX "export_runs_tenant_profileId_idx" ON "export_runs"("tenant", "profileId");

-- CreateIndex
CREATE INDEX "export_runs_tenant_createdAt_idx" ON "export_runs"("tenant", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "export_runs_tenant_idempotencyKey_key" ON "export_runs"("tenant", "idempotencyKey");

-- CreateIndex
CREATE INDEX "export_inputs_tenant_runId_idx" ON "export_inputs"("tenant", "runId");

-- CreateIndex
CREATE INDEX "export_distributions_tenant_runId_idx" ON "export_distributions"("tenant", "runId");

-- CreateIndex
CREATE UNIQUE INDEX "export_distributions_runId_type_target_key" ON "export_distributions"("runId", "type", "target");

-- AddForeignKey
ALTER TABLE "advisories" ADD CONSTRAINT "advisories_documentId_fkey" FOREIGN KEY ("documentId") REFERENCES "raw_documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "advisory_affected" ADD CONSTRAINT "advisory_affected_advisoryRow_fkey" FOREIGN KEY ("advisoryRow") REFERENCES "advisories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "vex_statements" ADD CONSTRAINT "vex_statements_documentId_fkey" FOREIGN KEY ("documentId") REFERENCES "raw_documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sboms" ADD CONSTRAINT "sboms_documentId_fkey" FOREIGN KEY ("documentId") REFERENCES "raw_documents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sbom_components" ADD CONSTRAINT "sbom_components_sbomId_fkey" FOREIGN KEY ("sbomId") REFERENCES "sboms"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "export_inputs" ADD CONSTRAINT "export_inputs_runId_fkey" FOREIGN KEY ("runId") REFERENCES "export_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "export_distributions" ADD CONSTRAINT "export_distributions_runId_fkey" FOREIGN KEY ("runId") REFERENCES "export_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

