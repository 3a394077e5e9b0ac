//! What a request's document must pass before it runs, over HTTP and WebSocket alike: the
//! trusted documents (which may replace the text a client sent by an id), parsing (cached), and
//! the token and alias limits. Depth, complexity and directives are the executor's (`schema`).
pub mod documents;
pub mod limits;
pub mod trusted_documents;

use std::sync::Arc;

use std::collections::HashSet;

use async_graphql::Name;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

use crate::auth::{Caller, Role};
use crate::config::ApiLimits;
use crate::i18n::Msg;
use documents::Documents;
use trusted_documents::TrustedDocuments;

/// The checks a document passes, with the parsed documents they keep.
pub struct Admission {
    pub trusted: Arc<TrustedDocuments>,
    pub limits: ApiLimits,
    documents: Documents,
}

/// A document let in, and what is known of it.
pub struct Admitted {
    /// None when the text does not parse: the executor then reports the syntax error where a
    /// client expects it.
    pub document: Option<Arc<ExecutableDocument>>,
    /// Whether it was one of the trusted documents.
    pub trusted: bool,
}

impl Admitted {
    /// The selected operation's name (None: unnamed) and type, when it parsed.
    pub fn operation<'a>(&'a self, operation_name: Option<&str>) -> Option<(Option<&'a str>, OperationType)> {
        limits::operation(self.document.as_deref()?, operation_name)
    }

    /// The selected operation's type, when it parsed.
    pub fn kind(&self, operation_name: Option<&str>) -> Option<OperationType> {
        self.operation(operation_name).map(|(_, kind)| kind)
    }

    /// How many root fields a mutation runs (0 for anything else).
    pub fn mutations(&self, operation_name: Option<&str>) -> usize {
        match (&self.document, self.kind(operation_name)) {
            (Some(document), Some(OperationType::Mutation)) => limits::root_fields(document, operation_name),
            _ => 0,
        }
    }
}

/// Why a document was not let in: what to tell the client, and the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub message: Msg,
    pub code: &'static str,
}

impl Admission {
    pub fn new(trusted: Arc<TrustedDocuments>, limits: ApiLimits) -> Admission {
        Admission { trusted, limits, documents: Documents::default() }
    }

    /// Lets `request` in or refuses it: the trusted document its id names (or its own text, where
    /// that may run), parsed and within the limits. The request then carries the parsed document,
    /// so that the executor does not parse it again.
    pub fn admit(
        &self,
        request: &mut async_graphql::Request,
        document_id: Option<&str>,
        caller: &Caller,
    ) -> Result<Admitted, Refused> {
        let admin = caller.as_ref().is_some_and(|actor| actor.role == Role::Admin);
        let persisted = persisted_query_hash(request);
        let document_id = document_id.or(persisted.as_deref());
        let trusted = match self.trusted.resolve(document_id, &request.query, admin) {
            Ok(Some(document)) => {
                request.query = document.to_string();
                true
            }
            Ok(None) => false,
            Err(refused) => return Err(Refused { message: refused.message(), code: refused.code() }),
        };
        let document = self
            .documents
            .prepare(&request.query, &self.limits)
            .map_err(|refusal| Refused { message: refusal.message(), code: "BAD_USER_INPUT" })?;
        // Introspection off keeps the schema from strangers, not from the keyed callers who work
        // with it (GraphiQL needs it): refused to anonymous callers only, with a word on why.
        if !self.limits.introspection && caller.is_none() {
            if document.as_deref().is_some_and(asks_introspection) {
                return Err(Refused { message: Msg::IntrospectionNeedsKey, code: "UNAUTHENTICATED" });
            }
            // Whatever the look above might miss, the executor answers no introspection either.
            request.introspection_mode = async_graphql::IntrospectionMode::Disabled;
        }
        if let Some(document) = &document {
            request.set_parsed_query(ExecutableDocument::clone(document));
        }
        Ok(Admitted { document, trusted })
    }
}

/// Whether any operation of the document selects `__schema` or `__type` on the query root
/// (directly, in inline fragments or in named fragments spread there; `__typename` is no
/// introspection of the schema).
pub fn asks_introspection(document: &ExecutableDocument) -> bool {
    fn selects(document: &ExecutableDocument, set: &SelectionSet, seen: &mut HashSet<Name>) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
            Selection::InlineFragment(fragment) => selects(document, &fragment.node.selection_set.node, seen),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                seen.insert(name.clone())
                    && document.fragments.get(name).is_some_and(|f| selects(document, &f.node.selection_set.node, seen))
            }
        })
    }
    let mut seen = HashSet::new();
    document.operations.iter().any(|(_, operation)| selects(document, &operation.node.selection_set.node, &mut seen))
}

/// Apollo's automatic persisted queries: `extensions.persistedQuery.sha256Hash` (version 1).
pub fn persisted_query_hash(request: &async_graphql::Request) -> Option<String> {
    let persisted = serde_json::to_value(request.extensions.get("persistedQuery")?).ok()?;
    (persisted.get("version")?.as_i64()? == 1).then_some(())?;
    Some(persisted.get("sha256Hash")?.as_str()?.to_owned())
}
