-- Planning and comparing plans at a million records (docs/benchmarks.md, mirror delta).
-- Planning numbers advisories in (advisoryId, sha256, id) order: an index holding those and
-- documentId answers it without reading the records or sorting. mirror:delta merges two
-- plans in recordId order and looks up a plan's raw documents by hash. Each new index starts
-- with the columns of the one it replaces.

-- DropIndex
DROP INDEX "advisories_tenant_advisoryId_idx";

-- DropIndex
DROP INDEX "export_inputs_tenant_runId_idx";

-- CreateIndex
CREATE INDEX "advisories_tenant_advisoryId_sha256_id_documentId_idx" ON "advisories"("tenant", "advisoryId", "sha256", "id", "documentId");

-- CreateIndex
CREATE INDEX "export_inputs_tenant_runId_kind_recordId_idx" ON "export_inputs"("tenant", "runId", "kind", "recordId");

-- CreateIndex
CREATE INDEX "export_inputs_tenant_runId_documentSha256_kind_idx" ON "export_inputs"("tenant", "runId", "documentSha256", "kind");
