//! The code's shape, checked rather than described: the import graph between `src/`'s top-level
//! modules has no circle and no arrow pointing up a layer, front-ends never import each other,
//! no two files import each other (directly or round a longer circle), every file says why it
//! exists, and no file grows into a room everyone edits.
//!
//! Imports are read from the code with comments and string literals removed: every `crate::`,
//! `super::` and `self::` path, grouped ones (`use crate::{a::X, b::{Y, Z}}`) expanded, inside
//! inline modules (`mod tests { use super::… }`) and `#[path]` modules resolved from where they
//! really sit.

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
    // What every web page shares (headers, CSRF, cookies, assets, the pool seam).
    &["web"],
    // The front-ends: siblings, none imports another.
    &["cli", "prompt", "kiosk", "serve", "remote", "pages"],
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

/// `text` with comments, string literals and character literals blanked (newlines kept), so
/// the braces and paths read afterwards are code.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (i == 0
                || !ident_char(c[i - 1])
                || (c[i - 1] == 'b' && (i < 2 || !ident_char(c[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
        {
            // A raw string r"…" or r#"…"#: ends at a quote followed by as many #.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() {
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                blank(&mut out, c[j]);
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = c.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else if c[i] == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{7f}'
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            out.push_str("' '");
            i += 1;
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Every path a piece of source names from the crate (`crate::`, `super::`, `self::`), as
/// absolute segments such as `["store", "audit", "Anchor"]`; `here` is the module of the file,
/// and inline modules (`mod tests { … }`) move `here` down while their braces are open.
fn paths(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let c: Vec<char> = code_only(text).chars().collect();
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let mut after_mod = false;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '{' {
            depth += 1;
            if let Some(name) = pending_mod.take() {
                inline.push((name, depth));
            }
            i += 1;
        } else if ch == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
        } else if ch == ';' {
            pending_mod = None;
            i += 1;
        } else if is_ident(ch) && (i == 0 || !(is_ident(c[i - 1]) || c[i - 1] == '$')) {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if after_mod {
                pending_mod = Some(word.clone());
                after_mod = false;
            } else if word == "mod" {
                after_mod = true;
                continue;
            }
            let starts_path = c.get(i) == Some(&':') && c.get(i + 1) == Some(&':');
            if starts_path && matches!(word.as_str(), "crate" | "super" | "self") {
                let mut module: Vec<String> = here.to_vec();
                module.extend(inline.iter().map(|(n, _)| n.clone()));
                let prefix = match word.as_str() {
                    "crate" => Vec::new(),
                    "super" => {
                        module.pop();
                        module
                    }
                    _ => module,
                };
                i += 2;
                found.extend(tree(&c, &mut i, prefix));
            }
        } else {
            if !ch.is_whitespace() {
                after_mod = false;
            }
            i += 1;
        }
    }
    found
}

/// Reads a path's rest after `::` at `c[*i]` (segments, `super`, `self`, a `{…}` group, `*`)
/// and returns every full path it names.
fn tree(c: &[char], i: &mut usize, mut prefix: Vec<String>) -> Vec<Vec<String>> {
    let skip_ws = |i: &mut usize| {
        while *i < c.len() && c[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(i);
        match c.get(*i) {
            Some('{') => {
                *i += 1;
                let mut all = Vec::new();
                loop {
                    skip_ws(i);
                    match c.get(*i) {
                        None => return all,
                        Some('}') => {
                            *i += 1;
                            return all;
                        }
                        Some(',') => *i += 1,
                        Some(_) => {
                            let before = *i;
                            all.extend(tree(c, i, prefix.clone()));
                            // Skip what follows an item (`as Name`) up to its comma or brace.
                            let mut nested = 0;
                            while let Some(&ch) = c.get(*i) {
                                match ch {
                                    '{' => nested += 1,
                                    '}' if nested == 0 => break,
                                    '}' => nested -= 1,
                                    ',' if nested == 0 => break,
                                    _ => {}
                                }
                                *i += 1;
                            }
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            Some(ch) if ch.is_alphanumeric() || *ch == '_' => {
                let start = *i;
                while *i < c.len() && (c[*i].is_alphanumeric() || c[*i] == '_') {
                    *i += 1;
                }
                let word: String = c[start..*i].iter().collect();
                match word.as_str() {
                    "super" => {
                        prefix.pop();
                    }
                    "self" => {}
                    _ => prefix.push(word),
                }
                if c.get(*i) == Some(&':') && c.get(*i + 1) == Some(&':') {
                    *i += 2;
                } else {
                    return vec![prefix];
                }
            }
            _ => return vec![prefix],
        }
    }
}

/// The names a piece of source reaches through the crate, as top-level module names.
fn imports(text: &str, here: &[String]) -> BTreeSet<String> {
    paths(text, here)
        .into_iter()
        .filter_map(|p| p.first().cloned())
        .collect()
}

/// Every source file with its module path; a `#[path = "f.rs"] mod name;` file sits where it
/// is declared, not where its name would put it.
fn files() -> Vec<(PathBuf, Vec<String>)> {
    let mut found = Vec::new();
    rust_files(&src(), &mut found);
    let mut placed: BTreeMap<PathBuf, Vec<String>> =
        found.iter().map(|f| (f.clone(), module_path(f))).collect();
    for f in &found {
        let text = std::fs::read_to_string(f).expect("read source");
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            let Some(target) = line
                .strip_prefix("#[path = \"")
                .and_then(|r| r.strip_suffix("\"]"))
            else {
                continue;
            };
            let decl = lines.by_ref().find(|l| !l.starts_with("#["));
            let name = decl.and_then(|l| {
                let l = l.strip_prefix("pub ").unwrap_or(l);
                l.strip_prefix("mod ")?
                    .strip_suffix(';')
                    .map(str::to_string)
            });
            if let Some(name) = name {
                let file = f.parent().expect("a folder").join(target);
                let mut module = placed[f].clone();
                module.push(name);
                placed.insert(file, module);
            }
        }
    }
    placed.into_iter().collect()
}

/// Top-level module → the top-level modules it imports (self-imports dropped).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (f, path) in files() {
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

/// File → file imports, by module path, each with the names that tie them. A file naming its
/// own submodules (`mod x; pub use x::Y;`) is declaring them, not depending on them: that arrow
/// is left out.
type FileGraph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn file_graph(sources: &[(Vec<String>, String)]) -> FileGraph {
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|(m, _)| m.clone()).collect();
    let name = |m: &[String]| {
        if m.is_empty() {
            "crate".to_string()
        } else {
            m.join("::")
        }
    };
    let mut g = FileGraph::new();
    for (from, text) in sources {
        let entry = g.entry(name(from)).or_default();
        for p in paths(text, from) {
            let Some(to) = (0..=p.len())
                .rev()
                .map(|n| &p[..n])
                .find(|m| modules.contains(*m))
            else {
                continue;
            };
            if to.starts_with(from) {
                continue; // itself, or one of its own submodules
            }
            let item = p[to.len()..].join("::");
            entry
                .entry(name(to))
                .or_default()
                .insert(if item.is_empty() { "self".into() } else { item });
        }
    }
    g
}

/// The file circles: every set of two or more files that reach each other through imports.
fn circles(g: &FileGraph) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for m in g.get(&n).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|k| (k, reach(k))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for (n, r) in &reached {
        if done.contains(*n) || !r.contains(*n) {
            continue;
        }
        let circle: Vec<String> = r
            .iter()
            .filter(|m| reached.get(m).is_some_and(|back| back.contains(*n)))
            .cloned()
            .collect();
        done.extend(circle.iter().cloned());
        out.push(circle);
    }
    out
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

/// Says each circle with the names that tie it, e.g.
/// `audit::head → audit::verify: Head`.
fn describe(g: &FileGraph, circle: &[String]) -> String {
    let mut lines = vec![format!("circle of {} files:", circle.len())];
    for from in circle {
        for (to, names) in g.get(from).into_iter().flatten() {
            if circle.contains(to) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                lines.push(format!("  {from} → {to}: {}", names.join(", ")));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn no_two_files_import_each_other() {
    let sources: Vec<(Vec<String>, String)> = files()
        .into_iter()
        .map(|(f, m)| (m, std::fs::read_to_string(f).expect("read source")))
        .collect();
    let g = file_graph(&sources);
    let found: Vec<String> = circles(&g).iter().map(|c| describe(&g, c)).collect();
    assert!(found.is_empty(), "file circles:\n{}", found.join("\n"));
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
                const S: &str = \"crate::serve in a string\";\n\
                fn f() -> String { super::super::cli::name() }\n";
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

#[test]
fn the_checker_reads_grouped_imports_and_inline_modules() {
    let here = |p: &str| p.split('/').map(String::from).collect::<Vec<_>>();
    let text = "use crate::{render::{self, text as t}, app::App};\n\
                use super::{head::Head, verify::{self as v, Broken}};\n\
                mod tests {\n    use super::super::cli::Args;\n    fn g() { let _ = '{'; }\n}\n\
                fn after() { super::chain::check(); }\n";
    let found: BTreeSet<String> = paths(text, &here("audit/verify"))
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    let expected = [
        "render",
        "render::text",
        "app::App",
        "head::Head",
        "verify",
        "verify::Broken",
        // inside `mod tests`, super::super is `audit`, not the crate root
        "audit::cli::Args",
        // after the inline module closes, super is `audit` again
        "chain::check",
    ];
    let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    let expected: BTreeSet<&str> = expected
        .iter()
        .map(|p| match *p {
            "head::Head" | "verify" | "verify::Broken" | "chain::check" => {
                Box::leak(format!("audit::{p}").into_boxed_str()) as &str
            }
            p => p,
        })
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn the_checker_reports_file_circles_and_not_a_module_declaring_its_files() {
    let m = |p: &str| p.split('/').map(String::from).collect::<Vec<_>>();
    let sources = vec![
        (
            m("audit"),
            "mod head; mod verify; pub use head::Head;".to_string(),
        ),
        (m("audit/head"), "use super::verify::Report;".to_string()),
        (
            m("audit/verify"),
            "use super::{head::Head, Context};".to_string(),
        ),
        (m("store"), "pub use self::tx::Tx;".to_string()),
        (m("store/tx"), "use super::StoreError;".to_string()),
    ];
    let g = file_graph(&sources);
    let found = circles(&g);
    assert_eq!(
        found,
        vec![vec!["audit::head".to_string(), "audit::verify".to_string()]],
        "{g:?}"
    );
    assert_eq!(
        describe(&g, &found[0]),
        "circle of 2 files:\n  audit::head → audit::verify: Report\n  audit::verify → audit::head: Head"
    );
}
