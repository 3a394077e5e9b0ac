//! The layer rule (docs/architecture.md), read from the crate's own source on every test run: a
//! module uses its own layer and the ones below, never one above; `config` imports nothing of the
//! crate; and no files import each other in a circle, but the GraphQL object types, which name
//! each other.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Each top-level module and its layer, lowest first.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("i18n", 1),
    ("error", 2),
    ("db", 3),
    ("entities", 3),
    ("areas", 3),
    ("auth", 3),
    ("observability", 3),
    ("stats", 4),
    ("live", 4),
    ("services", 5),
    ("datasets", 5),
    ("graphql", 6),
    ("http", 7),
    ("app", 8),
    ("cli", 9),
];

/// Read by every layer; imports nothing of the crate.
const LEAF: &str = "config";

/// Files that may import each other: the GraphQL object types (a Worker has Coverages, a Coverage
/// its Worker).
fn may_circle(file: &str) -> bool {
    file.starts_with("graphql/") && !file.starts_with("graphql/admission/")
}

/// A source file: its module path and what it imports.
struct Module {
    path: Vec<String>,
    /// Modules it declares (`mod x;`), which its relative paths may start with.
    children: BTreeSet<String>,
    /// `pub use` names: name -> the full path it stands for.
    reexports: HashMap<String, Vec<String>>,
    /// Every path it names that starts in the crate, made absolute.
    uses: Vec<Vec<String>>,
}

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `services/audit.rs` -> ["services", "audit"]; `auth/mod.rs` -> ["auth"]; `lib.rs` -> [].
fn module_path(relative: &str) -> Vec<String> {
    let without = relative.trim_end_matches(".rs");
    let mut parts: Vec<String> = without.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Every path of a `use` tree, with its name as imported.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Option<String>)>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_paths(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) if name.ident == "self" => out.push((prefix.clone(), prefix.last().cloned())),
        syn::UseTree::Name(name) => {
            let mut full = prefix.clone();
            full.push(name.ident.to_string());
            out.push((full, Some(name.ident.to_string())));
        }
        syn::UseTree::Rename(rename) => {
            let mut full = prefix.clone();
            full.push(rename.ident.to_string());
            out.push((full, Some(rename.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                use_paths(item, prefix, out);
            }
        }
    }
}

struct Reader<'a> {
    module: &'a mut Module,
    /// Inline modules (`mod tests { .. }`) the reader is in: their paths are relative to them.
    inline: Vec<String>,
    /// Each path named, with the inline modules it was named in.
    raw: Vec<NamedPath>,
}

/// A path as a file names it: the inline modules it was named in, and the path.
type NamedPath = (Vec<String>, Vec<String>);

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut found = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut found);
        let public = matches!(item.vis, syn::Visibility::Public(_));
        for (path, name) in found {
            // A module's face (`pub use child::Item`) is followed to the item, and is no
            // dependency of its own: a parent that hands on its children's names does not use them.
            if public && self.inline.is_empty() {
                if let Some(name) = name {
                    self.module.reexports.insert(name, path);
                }
                continue;
            }
            self.raw.push((self.inline.clone(), path));
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_none() {
            self.module.children.insert(item.ident.to_string());
        } else {
            self.inline.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.inline.pop();
        }
    }

    /// `pub(super)` and `pub(crate)` name where an item may be seen, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.raw.push((self.inline.clone(), path.segments.iter().map(|s| s.ident.to_string()).collect()));
        syn::visit::visit_path(self, path);
    }
}

/// A path as the module names it (inside its inline modules `inline`), made absolute (None:
/// another crate's, or a local item's).
fn absolute(module: &Module, inline: &[String], path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    match first.as_str() {
        "crate" => Some(path[1..].to_vec()),
        "super" | "self" => {
            let mut base = module.path.clone();
            base.extend(inline.iter().cloned());
            let mut rest = path;
            while let Some(segment) = rest.first() {
                match segment.as_str() {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        child if inline.is_empty() && module.children.contains(child) => {
            let mut base = module.path.clone();
            base.extend(path.iter().cloned());
            Some(base)
        }
        _ => None,
    }
}

#[test]
fn dependencies_point_down_the_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    let mut modules: BTreeMap<String, Module> = BTreeMap::new();
    let mut raw_paths: BTreeMap<String, Vec<NamedPath>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if relative == "main.rs" {
            continue; // the binary: it hands over to `cli`
        }
        let text = std::fs::read_to_string(file).unwrap();
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let mut module = Module {
            path: module_path(&relative),
            children: BTreeSet::new(),
            reexports: HashMap::new(),
            uses: Vec::new(),
        };
        let mut reader = Reader { module: &mut module, inline: Vec::new(), raw: Vec::new() };
        reader.visit_file(&parsed);
        let raw = reader.raw;
        raw_paths.insert(relative.clone(), raw);
        modules.insert(relative, module);
    }
    for (file, raw) in &raw_paths {
        let module = &modules[file];
        let uses: Vec<Vec<String>> = raw.iter().filter_map(|(inline, path)| absolute(module, inline, path)).collect();
        modules.get_mut(file).unwrap().uses = uses;
    }
    let by_path: HashMap<Vec<String>, String> =
        modules.iter().map(|(file, m)| (m.path.clone(), file.clone())).collect();
    // The file a path lands in: its longest module prefix, through `pub use` re-exports.
    let resolve = |path: &[String]| -> Option<String> {
        let mut path = path.to_vec();
        for _ in 0..8 {
            let (length, file) = (0..=path.len()).rev().find_map(|n| by_path.get(&path[..n]).map(|f| (n, f)))?;
            match path.get(length).and_then(|name| modules[file].reexports.get(name)) {
                Some(target) => {
                    let target = absolute(&modules[file], &[], target)?;
                    path = target.into_iter().chain(path[length + 1..].iter().cloned()).collect();
                }
                None => return Some(file.clone()),
            }
        }
        None
    };
    let layer = |file: &str| {
        let top = file.split(['/', '.']).next().unwrap_or_default();
        LAYERS.iter().find(|(name, _)| *name == top).map(|(_, layer)| *layer)
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut upward = BTreeSet::new();
    for (file, module) in &modules {
        for path in &module.uses {
            let Some(target) = resolve(path) else { continue };
            if target == *file || target == "lib.rs" {
                continue;
            }
            let top = target.split(['/', '.']).next().unwrap_or_default();
            if file.starts_with(LEAF) {
                upward.insert(format!("{file} -> {target} ({}): config imports nothing of the crate", path.join("::")));
            } else if top != LEAF
                && let (Some(from), Some(to)) = (layer(file), layer(&target))
                && to > from
            {
                upward.insert(format!("{file} (layer {from}) -> {target} (layer {to}) by {}", path.join("::")));
            }
            edges.entry(file.clone()).or_default().insert(target);
        }
    }
    let unplaced: Vec<&String> =
        modules.keys().filter(|f| *f != "lib.rs" && !f.starts_with(LEAF) && layer(f).is_none()).collect();
    assert!(unplaced.is_empty(), "modules in no layer (add them to LAYERS and docs/architecture.md): {unplaced:?}");
    assert!(upward.is_empty(), "imports that go up a layer:\n{}", upward.into_iter().collect::<Vec<_>>().join("\n"));
    let circles: Vec<String> = strongly_connected(&edges)
        .into_iter()
        .filter(|c| c.len() > 1 && !c.iter().all(|f| may_circle(f)))
        .map(|circle| {
            let inside = |f: &String| circle.contains(f);
            let ties: Vec<String> = circle
                .iter()
                .flat_map(|from| edges[from].iter().filter(|to| inside(to)).map(move |to| format!("  {from} -> {to}")))
                .collect();
            ties.join("\n")
        })
        .collect();
    assert!(circles.is_empty(), "files that import each other in a circle:\n{}", circles.join("\n\n"));
}

/// Tarjan's strongly connected components of `edges`.
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        let edges = state.edges;
        for next in edges.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[next].min(state.low[node]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.index[next].min(state.low[node]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.push(top.to_owned());
                if top == node {
                    break;
                }
            }
            state.found.push(component);
        }
    }
    let mut state = State {
        edges,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}
