//! Checks on a GraphQL document that async-graphql does not make itself: a token budget (counted
//! before parsing, so a flood of tokens never reaches the parser), an alias budget, and which kind
//! of operation a request would run (GraphQL over HTTP allows only queries over GET).
//! Depth, complexity and directives are limited by the schema (see `schema::build`).
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};

use crate::config::ApiLimits;
use crate::i18n::Msg;

/// Why a document is refused before execution.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    TooManyTokens(usize),
    TooManyAliases(usize),
}

impl Refusal {
    pub fn message(&self) -> Msg {
        match self {
            Refusal::TooManyTokens(max) => Msg::TooManyTokens { max: *max },
            Refusal::TooManyAliases(max) => Msg::TooManyAliases { max: *max },
        }
    }
}

/// Refuses a document with more lexical tokens than allowed, before it is parsed.
pub fn check_tokens(query: &str, limits: &ApiLimits) -> Result<(), Refusal> {
    if count_tokens(query, limits.max_tokens + 1) > limits.max_tokens {
        return Err(Refusal::TooManyTokens(limits.max_tokens));
    }
    Ok(())
}

/// Refuses a parsed document with more aliases than allowed.
pub fn check_aliases(document: &ExecutableDocument, limits: &ApiLimits) -> Result<(), Refusal> {
    let mut aliases = 0;
    for (_, operation) in document.operations.iter() {
        aliases += count_aliases(&operation.node.selection_set);
    }
    for fragment in document.fragments.values() {
        aliases += count_aliases(&fragment.node.selection_set);
    }
    if aliases > limits.max_aliases {
        return Err(Refusal::TooManyAliases(limits.max_aliases));
    }
    Ok(())
}

/// The cost of a field whose selection runs `factor` times (a page, a list, a trend), for the
/// schema's complexity limit. Capped far below `usize::MAX`: async-graphql adds these up with
/// plain `+`, and an overflow would panic in a debug build or, in a release build, wrap a
/// deeply nested document's cost to almost nothing and let it through.
pub fn repeated(factor: usize, child_complexity: usize) -> usize {
    const CAP: usize = u32::MAX as usize;
    factor.saturating_mul(child_complexity).min(CAP)
}

/// Whether the operation a request selects is a mutation or subscription (false if it names no
/// operation of the document: the executor reports that).
pub fn is_write(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    selected(document, operation_name).is_some_and(|o| o.node.ty != OperationType::Query)
}

/// Whether the selected operation is a subscription (served over WebSocket only).
pub fn is_subscription(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    selected(document, operation_name).is_some_and(|o| o.node.ty == OperationType::Subscription)
}

/// The selected operation's name (None: unnamed) and type.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a str>, OperationType)> {
    let selected = selected(document, operation_name)?;
    let name = match &document.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(operations) => {
            operations.iter().find(|(_, o)| std::ptr::eq(*o, selected)).map(|(name, _)| name.as_str())
        }
    };
    Some((name, selected.node.ty))
}

/// How many root fields the selected operation runs (through fragments too). Each root field of
/// a mutation is a mutation of its own, and aliases multiply them: 50 aliased registerWorker
/// fields were 50 guesses whether a NIK exists.
pub fn root_fields(document: &ExecutableDocument, operation_name: Option<&str>) -> usize {
    selected(document, operation_name).map_or(0, |o| count_fields(document, &o.node.selection_set, 0))
}

fn selected<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a Positioned<async_graphql::parser::types::OperationDefinition>> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Fields of one selection set, fragments expanded (to a bounded depth: validation refuses
/// fragment cycles later, and this must not loop on one first).
fn count_fields(document: &ExecutableDocument, selection_set: &Positioned<SelectionSet>, depth: usize) -> usize {
    if depth > 16 {
        return 0;
    }
    selection_set
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => count_fields(document, &fragment.node.selection_set, depth + 1),
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| count_fields(document, &fragment.node.selection_set, depth + 1)),
        })
        .sum()
}

fn count_aliases(selection_set: &Positioned<SelectionSet>) -> usize {
    selection_set
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_aliases(&field.node.selection_set)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Counts GraphQL lexical tokens (names, numbers, strings, punctuators), stopping at `stop`.
/// Commas, whitespace and comments are ignored, as the GraphQL grammar does.
fn count_tokens(document: &str, stop: usize) -> usize {
    let mut chars = document.chars().peekable();
    let mut tokens = 0;
    while let Some(c) = chars.next() {
        if tokens >= stop {
            break;
        }
        match c {
            c if c.is_whitespace() || c == ',' || c == '\u{feff}' => continue,
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
                continue;
            }
            '"' => skip_string(&mut chars),
            '.' => {
                // "..." is one token.
                while chars.peek() == Some(&'.') {
                    chars.next();
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' => {
                while chars.peek().is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')) {
                    chars.next();
                }
            }
            _ => {}
        }
        tokens += 1;
    }
    tokens
}

/// Skips a string or block string whose opening quote was consumed.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let block = {
        let mut look = chars.clone();
        look.next() == Some('"') && look.next() == Some('"')
    };
    if block {
        chars.next();
        chars.next();
        let mut quotes = 0;
        for c in chars.by_ref() {
            quotes = if c == '"' { quotes + 1 } else { 0 };
            if quotes == 3 {
                return;
            }
        }
        return;
    }
    if chars.peek() == Some(&'"') {
        chars.next(); // the empty string ""
        return;
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' | '\n' => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    #[test]
    fn counts_tokens_like_the_grammar() {
        assert_eq!(count_tokens("{ a }", 100), 3);
        assert_eq!(count_tokens("query Q($x: Int = -1) { a(x: $x, s: \"a b, c\") ...F }", 100), 24);
        assert_eq!(count_tokens("# only a comment\n{ a }", 100), 3);
        assert_eq!(count_tokens("{ a(s: \"\"\"block \" string\"\"\") }", 100), 8);
        assert_eq!(count_tokens(&"{ a }".repeat(1000), 10), 10);
    }

    fn parse(query: &str) -> ExecutableDocument {
        parse_query(query).unwrap()
    }

    #[test]
    fn counts_aliases_in_operations_and_fragments() {
        let limits = ApiLimits { max_aliases: 2, ..ApiLimits::default() };
        assert_eq!(check_aliases(&parse("{ a: provinces { code } b: provinces { code } }"), &limits), Ok(()));
        assert_eq!(
            check_aliases(
                &parse("{ a: provinces { c: code } ...F } fragment F on Query { b: provinces { code } }"),
                &limits
            ),
            Err(Refusal::TooManyAliases(2))
        );
    }

    #[test]
    fn tells_mutations_from_queries() {
        assert!(!is_write(&parse("{ provinces { code } }"), None));
        assert!(is_write(&parse("mutation { registerWorker }"), None));
        assert!(is_write(&parse("query A { a } mutation B { b }"), Some("B")));
        assert!(!is_write(&parse("query A { a } mutation B { b }"), Some("A")));
    }
}
