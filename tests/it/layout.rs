//! The code's shape, checked rather than described: the import graph between `src/`'s top-level
//! modules has no circle and no arrow pointing up a layer, front-ends never import each other,
//! every file says why it exists, and no file grows into a room everyone edits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import only modules of a lower layer; modules of one
/// layer never import each other. The crate root (`lib.rs`, `main.rs`) sits above everything.
const LAYERS: &[&[&str]] = &[
    &["sanitize", "hugepages", "clock", "secret_file"],
    &["domain"],
    &["message"],
    &["request"],
    &["crypto"],
    &["config"],
    &["store"],
    &["delivery"],
    &["error"],
    &["audit"],
    &["service"],
    &["app"],
    &["grammar"],
    &["render"],
    &["terminal"],
    // The front-ends: siblings, none imports another.
    &["cli", "prompt", "kiosk", "serve", "remote"],
];

/// The longest a file under `src/` may grow before it wants splitting.
const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file, e.g. `src/service/verify.rs` → `["service", "verify"]`.
fn module_path(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src/");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        parts.pop();
    }
    parts
}

/// The names a piece of source reaches through `crate::` or `super::` paths (code, not
/// comments), resolved to top-level module names; `here` is the module the text belongs to.
fn imports(text: &str, here: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let ident = |s: &str| -> String {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        for (i, _) in code.match_indices("crate::") {
            let before = code[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            found.insert(ident(&code[i + "crate::".len()..]));
        }
        let mut rest = code;
        while let Some(i) = rest.find("super::") {
            let mut path = here.to_vec();
            let mut tail = &rest[i..];
            while let Some(t) = tail.strip_prefix("super::") {
                path.pop();
                tail = t;
            }
            found.insert(path.first().cloned().unwrap_or_else(|| ident(tail)));
            rest = tail;
        }
    }
    found.retain(|n| !n.is_empty());
    found
}

/// Top-level module → the top-level modules it imports (self-imports dropped).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let path = module_path(f);
        let Some(top) = path.first().cloned() else {
            continue; // lib.rs / main.rs: the root may name anything
        };
        let text = std::fs::read_to_string(f).expect("read source");
        let entry = g.entry(top.clone()).or_default();
        entry.extend(imports(&text, &path).into_iter().filter(|m| *m != top));
    }
    // Only edges between modules: `crate::Outcome` (a re-export at the root) is no module.
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for tos in g.values_mut() {
        tos.retain(|m| modules.contains(m));
    }
    g
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Every import that does not point down a layer.
fn violations(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (from, tos) in g {
        let Some(lf) = layer_of(from) else {
            wrong.push(format!("{from}: not placed in a layer (add it to LAYERS)"));
            continue;
        };
        for to in tos {
            match layer_of(to) {
                Some(lt) if lt < lf => {}
                Some(_) => wrong.push(format!("{from} → {to} points up or sideways")),
                None => wrong.push(format!("{from} → {to}: {to} is not placed in a layer")),
            }
        }
    }
    wrong
}

#[test]
fn every_import_points_down_a_layer() {
    let wrong = violations(&graph());
    assert!(wrong.is_empty(), "import graph:\n{}", wrong.join("\n"));
}

#[test]
fn the_import_graph_has_no_circle() {
    let g = graph();
    // Depth-first search with colours; report the first circle found.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut circle = stack[at..].to_vec();
                    circle.push(m.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let circle = visit(n, &g, &mut state, &mut Vec::new());
            assert!(
                circle.is_none(),
                "import circle: {}",
                circle.unwrap().join(" → ")
            );
        }
    }
}

#[test]
fn every_source_file_says_why_it_exists_and_stays_small() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        let name = f.strip_prefix(src()).unwrap().display().to_string();
        if !text.trim_start().starts_with("//!") {
            wrong.push(format!("{name}: does not open with a //! line"));
        }
        let lines = text.lines().count();
        if lines > MAX_LINES {
            wrong.push(format!("{name}: {lines} lines (over {MAX_LINES})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_upward_and_sideways_imports() {
    let here = |p: &str| p.split('/').map(String::from).collect::<Vec<_>>();
    let text = "use crate::render::text; // crate::app only in a comment\n\
                mod tests { use super::super::cli::Args; }\n";
    let found = imports(text, &here("store/sqlite"));
    assert_eq!(
        found,
        BTreeSet::from(["render".to_string(), "cli".to_string()])
    );
    let g = BTreeMap::from([
        ("store".to_string(), found),
        ("prompt".to_string(), BTreeSet::from(["kiosk".to_string()])),
        ("kiosk".to_string(), BTreeSet::new()),
        ("render".to_string(), BTreeSet::new()),
        ("cli".to_string(), BTreeSet::new()),
    ]);
    let wrong = violations(&g);
    assert_eq!(wrong.len(), 3, "{wrong:?}");
}
