//! A span per root field (`Query.workers`, `Mutation.approvePayout`): the resolvers that call the
//! services and so the database; the SQL statements' spans (sea-orm's) and the batched loads of
//! nested fields run inside it. async-graphql's own `Tracing` extension opens a span for every
//! non-scalar field, a hundred for a page of workers with their coverages: too many for every
//! request, so only the root fields here.
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};
use tracing::Instrument;

pub struct ResolverSpans;

impl ExtensionFactory for ResolverSpans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ResolverSpans)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ResolverSpans {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() || info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        // Field names only: arguments may hold NIKs.
        let span = tracing::info_span!(
            "resolver",
            otel.name = %format_args!("{}.{}", info.parent_type, info.name),
            graphql.field.name = info.name,
            graphql.field.parent_type = info.parent_type,
        );
        next.run(ctx, info).instrument(span).await
    }
}
