//! The crate's layout, checked so ARCHITECTURE.md stays true as the code grows.
//!
//! - The code map's headings name `forwarder/src`'s top-level modules in the order lib.rs declares
//!   them, and that order is the layering: a module's code uses only modules named before it (or
//!   within its own folder). Test code may reach further up, to build its inputs.
//! - No module uses one that uses it back: the graph of `crate::` and `super::` paths between
//!   files has no cycle. A folder's `mod.rs` is a module like any other, so a child that reaches
//!   into its parent while the parent uses the child is a cycle too.
//! - No Rust file of the repository (the crate, its benches and examples, the tests) is over 800
//!   lines, and each opens with a `//!` line that says what it is for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use forwarder_tests::root;

const MAX_LINES: usize = 800;

/// One file of the crate: its module path (`alerts::render`, with `tests` for a test module)
/// and its code, comments removed, split into the part compiled always and the tests.
struct Module {
    path: String,
    code: String,
    tests: String,
}

fn src() -> PathBuf {
    root().join("forwarder/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            // Build output and tools' environments hold no source of ours.
            if name != "target" && !name.starts_with('.') && name != "node_modules" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_path(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// Code without comments; string literals stay (no `crate::` path hides in one here).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l.split(" // ").next().unwrap_or(""),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn modules() -> Vec<Module> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .iter()
        .filter(|f| !f.ends_with("main.rs"))
        .map(|f| {
            let text = strip_comments(&std::fs::read_to_string(f).unwrap());
            let path = module_path(f);
            let (code, tests) = match text.find("#[cfg(test)]\nmod tests {") {
                _ if path.ends_with("::tests") || path == "tests" => (String::new(), text),
                Some(at) => (text[..at].to_string(), text[at..].to_string()),
                None => (text, String::new()),
            };
            Module { path, code, tests }
        })
        .collect()
}

/// The paths a piece of code names, as segments from the crate root: `crate::a::b::{c, d::e}`
/// gives `a::b::c` and `a::b::d::e`; `super::x` is read from `module`'s parent.
fn named_paths(code: &str, module: &str) -> Vec<String> {
    let parent = match module.rsplit_once("::") {
        Some((p, _)) => p.to_string(),
        None => String::new(),
    };
    let mut out = Vec::new();
    for (keyword, base) in [("crate::", String::new()), ("super::", parent)] {
        for at in path_starts(code, keyword) {
            let mut rest = &code[at + keyword.len()..];
            let mut base = base.clone();
            while keyword == "super::" && rest.starts_with("super::") {
                rest = &rest["super::".len()..];
                base = base.rsplit_once("::").map_or("", |(p, _)| p).to_string();
            }
            expand(rest, &base, &mut out);
        }
    }
    out
}

/// Reads `a::b::{c, d::{e}}` (what follows a `crate::`) into full paths under `base`.
fn expand(rest: &str, base: &str, out: &mut Vec<String>) {
    let ident_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let path = rest[..ident_end].trim_end_matches(':');
    let full = match (base.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => base.to_string(),
        (false, false) => format!("{base}::{path}"),
    };
    if rest[ident_end..].starts_with('{') && rest[..ident_end].ends_with("::") {
        let group = &rest[ident_end + 1..];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(group[start..i].trim(), &full, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(group[start..i].trim(), &full, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
    } else {
        out.push(full);
    }
}

/// Paths relative to `module` that start with one of its child modules (`pub use child::X`).
fn child_paths(code: &str, module: &str, known: &BTreeSet<String>) -> Vec<String> {
    let prefix = match module.is_empty() {
        true => String::new(),
        false => format!("{module}::"),
    };
    let mut out = Vec::new();
    for child in known.iter().filter_map(|k| k.strip_prefix(&prefix)) {
        if child.contains("::") {
            continue;
        }
        for at in path_starts(code, &format!("{child}::")) {
            expand(&code[at..], module, &mut out);
        }
    }
    out
}

/// Where `needle` starts a path in `code`: not inside a longer name or after another `::`.
fn path_starts<'c>(code: &'c str, needle: &'c str) -> impl Iterator<Item = usize> + 'c {
    code.match_indices(needle).map(|(at, _)| at).filter(|&at| {
        let before = at.checked_sub(1).map(|b| code.as_bytes()[b]);
        !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
    })
}

/// The module a path lands in: its longest prefix that is a module of the crate.
fn owner<'m>(path: &str, known: &'m BTreeSet<String>) -> Option<&'m String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len())
        .rev()
        .find_map(|n| known.get(&parts[..n].join("::")))
}

/// Edges from each module (its test part a module of its own, `PATH::tests`) to the modules
/// it names, itself left out.
fn graph(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let mut known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    known.remove("");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in modules {
        let test_node = match m.path.ends_with("tests") {
            true => m.path.clone(),
            false => format!("{}::tests", m.path),
        };
        for (node, code, as_module) in [
            (m.path.clone(), &m.code, m.path.clone()),
            (test_node.clone(), &m.tests, test_node),
        ] {
            let to = edges.entry(node.clone()).or_default();
            let own = match as_module.ends_with("::tests") {
                true => &m.path,
                false => &as_module,
            };
            let mut paths = named_paths(code, &as_module);
            paths.extend(child_paths(code, own, &known));
            for path in paths {
                if let Some(target) = owner(&path, &known)
                    && *target != node
                    && !node.starts_with(&format!("{target}::tests"))
                {
                    to.insert(target.clone());
                }
            }
        }
    }
    edges.retain(|_, to| !to.is_empty());
    edges
}

/// A cycle through `start`, if there is one.
fn cycle_from(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, trail)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                return Some([trail.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [trail.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

fn top(path: &str) -> &str {
    path.split("::").next().unwrap()
}

/// lib.rs's modules, in the order it declares them.
fn declared() -> Vec<String> {
    std::fs::read_to_string(src().join("lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

/// ARCHITECTURE.md's code map: its `### `name/`` or `### `name.rs`` headings, in order.
fn code_map() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let map = doc
        .split("\n## ")
        .find(|s| s.starts_with("Code map"))
        .expect("ARCHITECTURE.md has a `## Code map` section");
    map.lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .map(|l| {
            let name = l.split('`').next().unwrap();
            name.trim_end_matches('/')
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect()
}

#[test]
fn the_code_map_names_every_module_in_the_order_lib_rs_declares_them() {
    let declared = declared();
    assert!(declared.len() > 5, "lib.rs declares {declared:?}");
    assert_eq!(
        code_map(),
        declared,
        "ARCHITECTURE.md's code map against lib.rs"
    );
}

#[test]
fn each_module_uses_only_the_layers_before_it() {
    let order = declared();
    let rank = |m: &str| order.iter().position(|o| o == m);
    let modules = modules();
    let mut wrong = Vec::new();
    for (from, to) in graph(&modules) {
        if from.split("::").any(|p| p == "tests") {
            continue;
        }
        for target in to {
            let (a, b) = (top(&from), top(&target));
            match (rank(a), rank(b)) {
                (Some(x), Some(y)) if y > x => wrong.push(format!("{from} uses {target}")),
                (None, _) | (_, None) => wrong.push(format!("{from} -> {target}: not in lib.rs")),
                _ => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses of a later layer (lib.rs order {order:?}):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let edges = graph(&modules());
    assert!(
        edges.len() > 20,
        "the graph is read from the source: {} modules",
        edges.len()
    );
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|start| cycle_from(start, &edges))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn no_source_file_is_over_800_lines_and_each_says_what_it_is_for() {
    let mut files = Vec::new();
    for dir in ["forwarder", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut wrong = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let lines = text.lines().count();
        let name = f.strip_prefix(root()).unwrap().display();
        if lines > MAX_LINES {
            wrong.push(format!("{name}: {lines} lines"));
        }
        if !text.starts_with("//!") {
            wrong.push(format!("{name}: does not open with a //! line"));
        }
    }
    assert!(files.len() > 60, "found {} files", files.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_reader_follows_paths_through_groups_and_super() {
    let code = "use crate::a::b::{self, c, d::{e, F}};\nlet x = super::g::h();\nfoo_crate::z;\nsuper::super::k::K;";
    let mut paths = named_paths(code, "p::q");
    paths.sort();
    assert_eq!(
        paths,
        [
            "a::b::c",
            "a::b::d::F",
            "a::b::d::e",
            "a::b::self",
            "k::K",
            "p::g::h"
        ]
    );
    let children: BTreeSet<String> = ["p::q::r"].map(String::from).into();
    let code = "pub use r::X;\nlet y = qr::z;\npub use r::{A, s::B};";
    assert_eq!(
        child_paths(code, "p::q", &children),
        ["p::q::r::X", "p::q::r::A", "p::q::r::s::B"]
    );
    let known: BTreeSet<String> = ["a", "a::b", "a::b::d"].map(String::from).into();
    assert_eq!(owner("a::b::d::e", &known).unwrap(), "a::b::d");
    assert_eq!(owner("a::x", &known).unwrap(), "a");
    assert!(owner("z", &known).is_none());
}
