//! Bulk enrollment over GraphQL: `importEnrollments` takes the CSV or .xlsx as an Upload (the GraphQL
//! multipart request spec) and answers with the import's report.
use std::sync::Arc;

use async_graphql::{Context, Object, Result, Upload};

use super::{caller, lang, state};
use crate::error::AppError;
use crate::i18n::Msg;
use crate::services::import::{self, ERRORS_RETURNED, ImportOptions};

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// A regency's enrollment list as CSV or an Excel workbook (.xlsx, recognised by its content)
    /// in a GraphQL multipart request. OPERATOR and above, in scope. All or nothing unless
    /// partial; dryRun writes nothing.
    async fn import_enrollments(
        &self,
        ctx: &Context<'_>,
        regency_code: String,
        file: Upload,
        dry_run: Option<bool>,
        partial: Option<bool>,
    ) -> Result<ImportReport> {
        let upload = file
            .value(ctx)
            .map_err(|e| AppError::bad_input("file", Msg::UploadUnreadable { detail: e.to_string() }))?;
        let options = ImportOptions {
            dry_run: dry_run.unwrap_or(false),
            partial: partial.unwrap_or(false),
            keep_errors: ERRORS_RETURNED,
        };
        let source = Box::new(upload.into_read());
        let report =
            import::import_enrollments(state(ctx), caller(ctx), &regency_code, source, options, Arc::new(|_| {}))
                .await?;
        Ok(ImportReport(report))
    }
}

pub struct ImportReport(pub import::ImportReport);

/// GraphQL's Int is 32 bits; an upload is bounded far below that many rows.
fn int(count: u64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

#[Object]
impl ImportReport {
    async fn rows_read(&self) -> i32 {
        int(self.0.rows_read)
    }

    async fn workers_registered(&self) -> i32 {
        int(self.0.workers_registered)
    }

    /// Rows whose NIK was already registered (the worker was enrolled, not registered again).
    async fn workers_known(&self) -> i32 {
        int(self.0.workers_known)
    }

    async fn coverages_created(&self) -> i32 {
        int(self.0.coverages_created)
    }

    /// Rows already imported before (same worker, regency and start): nothing to do.
    async fn rows_skipped(&self) -> i32 {
        int(self.0.rows_skipped)
    }

    async fn rows_in_error(&self) -> i32 {
        int(self.0.rows_in_error)
    }

    /// False when nothing was written (dry run, or errors without partial).
    async fn written(&self) -> bool {
        self.0.written
    }

    /// The first 1,000 errors, in line order; a row has one for each thing wrong with it.
    async fn errors(&self) -> Vec<ImportRowError> {
        self.0.errors.iter().cloned().map(ImportRowError).collect()
    }

    /// SHA-256 of the file as received (hex), as the audit log records it.
    async fn file_sha256(&self) -> &str {
        &self.0.file_sha256
    }
}

pub struct ImportRowError(import::RowError);

#[Object]
impl ImportRowError {
    /// Line in the file where the row starts, the header being line 1.
    async fn line(&self) -> i32 {
        int(self.0.line)
    }

    /// The column at fault as the file's header names it ("Tanggal Mulai", "starts_on"), when
    /// one is.
    async fn column(&self) -> Option<&str> {
        self.0.column.as_deref()
    }

    /// What the cell at fault holds (trimmed), when one is and it is not empty.
    async fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }

    /// An extensions.code of the API: BAD_USER_INPUT, CONFLICT, FORBIDDEN...
    async fn code(&self) -> &str {
        self.0.code
    }

    /// In the language the request's Accept-Language prefers (English or Indonesian).
    async fn message(&self, ctx: &Context<'_>) -> String {
        self.0.message.text(lang(ctx))
    }
}
