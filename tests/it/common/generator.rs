//! Random GraphQL operations generated from schema.graphql: fields chosen from the types the
//! schema declares, with their arguments filled in by type (required ones always, optional ones
//! sometimes; enums, input objects, lists, the custom scalars), nested selections, aliases,
//! fragments and directives, and now and then a value of the wrong type. Most operations are
//! valid, so they reach the resolvers; the rest exercise validation.
use std::collections::HashMap;
use std::fmt::Write;

use async_graphql::parser::types::{
    BaseType, FieldDefinition, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use rand::Rng;
use rand::rngs::StdRng;

pub struct Generator {
    types: HashMap<String, TypeKind>,
}

/// Values for the scalars, valid and not: area codes, NIKs, ids, dates, amounts, edge numbers.
const STRINGS: &[&str] = &[
    "36",
    "36.03",
    "36.03.12",
    "36.71",
    "99",
    "",
    "3603124503850001",
    "3603121505850001",
    "Siti Aminah",
    "x\\u0000y",
    "🙂🙂",
    "' OR 1=1 --",
    "%",
    "_",
    "TRF-1",
    "1234567890",
];
const IDS: &[&str] = &["1", "2", "3", "0", "-1", "abc", "99999999999999999999", "1e3"];
const INTS: &[i64] = &[0, 1, 2, 5, 10, 100, 1000, -1, 2023, 2024, 2147483647, -2147483648, 9999999999];
const DATES: &[&str] =
    &["2024-06-01", "2023-01-01", "2024-02-29", "2023-02-29", "1900-01-01", "2999-12-31", "06/01/2024", ""];
const AMOUNTS: &[&str] = &["42000000", "1500000", "0", "-1", "1e30", "12.5", "99999999999999999999"];

impl Generator {
    pub fn new(sdl: &str) -> Generator {
        let document = async_graphql::parser::parse_schema(sdl).expect("schema.graphql parses");
        let types = document
            .definitions
            .into_iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some((ty.node.name.node.to_string(), ty.node.kind)),
                _ => None,
            })
            .collect();
        Generator { types }
    }

    pub fn operation(&self, rng: &mut StdRng) -> String {
        let mut out = String::new();
        let (keyword, root) = if rng.random_bool(0.7) { ("query", "Query") } else { ("mutation", "Mutation") };
        let _ = write!(out, "{keyword} Fuzzed ");
        // Mutations: usually one field, as clients send them; queries: a few.
        let fields = if root == "Mutation" { rng.random_range(1..=2) } else { rng.random_range(1..=4) };
        self.selection(&mut out, root, fields, 0, rng);
        out
    }

    fn fields(&self, type_name: &str) -> &[async_graphql::Positioned<FieldDefinition>] {
        match self.types.get(type_name) {
            Some(TypeKind::Object(object)) => &object.fields,
            Some(TypeKind::Interface(interface)) => &interface.fields,
            _ => &[],
        }
    }

    fn selection(&self, out: &mut String, type_name: &str, count: usize, depth: usize, rng: &mut StdRng) {
        out.push('{');
        if let Some(TypeKind::Union(union)) = self.types.get(type_name) {
            out.push_str(" __typename");
            for member in &union.members {
                if rng.random_bool(0.5) {
                    let _ = write!(out, " ... on {} ", member.node);
                    self.selection(out, &member.node, 2, depth + 1, rng);
                }
            }
            out.push_str(" }");
            return;
        }
        let fields = self.fields(type_name);
        if fields.is_empty() || depth > 4 {
            out.push_str(" __typename }");
            return;
        }
        for n in 0..count.max(1) {
            let field = &fields[rng.random_range(0..fields.len())].node;
            out.push(' ');
            if rng.random_bool(0.2) {
                let _ = write!(out, "a{n}: ");
            }
            out.push_str(&field.name.node);
            let arguments: Vec<&InputValueDefinition> = field
                .arguments
                .iter()
                .map(|a| &a.node)
                .filter(|a| !a.ty.node.nullable || rng.random_bool(0.4))
                .collect();
            if !arguments.is_empty() {
                out.push('(');
                for argument in arguments {
                    let _ = write!(out, "{}: ", argument.name.node);
                    self.value(out, &argument.ty.node, 0, rng);
                    out.push(' ');
                }
                out.push(')');
            }
            if rng.random_bool(0.05) {
                let _ = write!(out, " @include(if: {})", rng.random_bool(0.5));
            }
            let inner = named(&field.ty.node);
            if matches!(self.types.get(inner), Some(TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)))
            {
                out.push(' ');
                if rng.random_bool(0.1) {
                    let _ = write!(out, "{{ ... on {inner} ");
                    self.selection(out, inner, rng.random_range(1..=3), depth + 1, rng);
                    out.push_str(" }");
                } else {
                    self.selection(out, inner, rng.random_range(1..=4), depth + 1, rng);
                }
            }
        }
        out.push_str(" }");
    }

    fn value(&self, out: &mut String, ty: &Type, depth: usize, rng: &mut StdRng) {
        // Sometimes the wrong thing: null for a required value, a string for a number.
        if rng.random_bool(0.03) {
            out.push_str(if rng.random_bool(0.5) { "null" } else { "\"wrong\"" });
            return;
        }
        if ty.nullable && rng.random_bool(0.1) {
            out.push_str("null");
            return;
        }
        match &ty.base {
            BaseType::List(item) => {
                out.push('[');
                for _ in 0..rng.random_range(0..=3) {
                    self.value(out, item, depth + 1, rng);
                    out.push(' ');
                }
                out.push(']');
            }
            BaseType::Named(name) => self.named_value(out, name, depth, rng),
        }
    }

    fn named_value(&self, out: &mut String, name: &str, depth: usize, rng: &mut StdRng) {
        let pick = |rng: &mut StdRng, values: &[&str]| values[rng.random_range(0..values.len())].to_owned();
        match name {
            "Int" => {
                let _ = write!(out, "{}", INTS[rng.random_range(0..INTS.len())]);
            }
            "Float" => out.push_str(&pick(rng, &["0.5", "1e308", "-3.25", "0"])),
            "Boolean" => out.push_str(if rng.random_bool(0.5) { "true" } else { "false" }),
            "String" => {
                let value =
                    if rng.random_bool(0.05) { "x".repeat(rng.random_range(200..5000)) } else { pick(rng, STRINGS) };
                let _ = write!(out, "{}", serde_json::Value::String(value));
            }
            "ID" => {
                let _ = write!(out, "\"{}\"", pick(rng, IDS));
            }
            "Date" => {
                let _ = write!(out, "\"{}\"", pick(rng, DATES));
            }
            "DateTime" => out.push_str(&pick(rng, &["\"2024-06-01T00:00:00Z\"", "\"2024-06-01\"", "\"yesterday\""])),
            "Rupiah" => {
                let amount = pick(rng, AMOUNTS);
                // Rupiah is written as a string or as a number.
                if rng.random_bool(0.5) && amount.parse::<i64>().is_ok() {
                    out.push_str(&amount);
                } else {
                    let _ = write!(out, "\"{amount}\"");
                }
            }
            // Files come as multipart parts; in a JSON body there is none.
            "Upload" => out.push_str("null"),
            other => match self.types.get(other) {
                Some(TypeKind::Enum(enumeration)) => {
                    let values = &enumeration.values;
                    out.push_str(&values[rng.random_range(0..values.len())].node.value.node);
                }
                Some(TypeKind::InputObject(input)) if depth < 3 => {
                    out.push('{');
                    for field in &input.fields {
                        let field = &field.node;
                        if !field.ty.node.nullable || rng.random_bool(0.5) {
                            let _ = write!(out, " {}: ", field.name.node);
                            self.value(out, &field.ty.node, depth + 1, rng);
                        }
                    }
                    out.push_str(" }");
                }
                _ => out.push_str("null"),
            },
        }
    }
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name,
        BaseType::List(item) => named(item),
    }
}
