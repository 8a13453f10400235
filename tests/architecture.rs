//! The layers import downwards only: no two top-level modules of `src/`
//! import each other, directly or round a circle, and neither do two
//! files (or folders) inside one module. Reads the source, so a new cycle
//! fails here with the files that close it.
//!
//! What counts as an import: every `crate::a::…` path (in `use` or
//! inline, braces expanded) and, in a file directly inside a module,
//! `super::b::…`. Comments and `#[cfg(test)]` modules are left out (tests
//! may reach anywhere). A module's `mod.rs` is the module itself, not a
//! sibling: it may use its children, and they its items.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments and without `#[cfg(test)]` items.
fn code(src: &str) -> String {
    let mut out = String::new();
    for line in src.lines() {
        let mut in_str = false;
        let mut prev = ' ';
        let mut cut = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            }
            if !in_str && c == '/' && prev == '/' {
                cut = i - 1;
                break;
            }
            prev = c;
        }
        out.push_str(&line[..cut]);
        out.push('\n');
    }
    // Drop each `#[cfg(test)]` item: up to its `;` (a `use`), or its
    // matching closing brace.
    while let Some(at) = out.find("#[cfg(test)]") {
        let Some(open) = out[at..].find('{').map(|i| at + i) else {
            break;
        };
        if let Some(semi) = out[at..open].find(';') {
            out.replace_range(at..at + semi + 1, "");
            continue;
        }
        let mut depth = 0;
        let mut end = out.len();
        for (i, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(at..end, "");
    }
    out
}

/// Every path after `crate::` or `super::`, braces expanded to their
/// first segments: `crate::{a::X, b}` → `a::X`, `b`.
fn paths(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let ident = |s: &str| -> Vec<String> {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(s.len());
        s[..end]
            .split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    out.push(ident(item.trim()));
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else if depth == 1 {
                    item.push(c);
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Strongly connected components of more than one node (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            if !t.index.contains_key(w.as_str()) {
                visit(t, w);
                let l = t.low[w.as_str()].min(t.low[v]);
                t.low.insert(v, l);
            } else if t.on.contains(w.as_str()) {
                let l = t.index[w.as_str()].min(t.low[v]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // Top-level modules: src/NAME.rs and src/NAME/.
    let is_child = |m: &str, name: &str| {
        src.join(m).join(format!("{name}.rs")).is_file() || src.join(m).join(name).is_dir()
    };
    let tops: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(&src).ok())
        .filter_map(|f| f.components().next())
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();
    assert!(tops.len() > 10, "{tops:?}");
    let mut top = BTreeMap::<String, BTreeSet<String>>::new();
    let mut inner = BTreeMap::<String, BTreeSet<String>>::new();
    let mut why = BTreeMap::<(String, String), String>::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let mut parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        let Some(m) = parts.first().filter(|m| tops.contains(*m)).cloned() else {
            continue;
        };
        let sub = parts.get(1).cloned();
        let text = code(&std::fs::read_to_string(f).unwrap());
        let mut edge = |graph: &mut BTreeMap<_, BTreeSet<String>>, from: String, to: String| {
            why.entry((from.clone(), to.clone()))
                .or_insert_with(|| rel.display().to_string());
            graph.entry(from).or_default().insert(to);
        };
        for p in paths(&text, "crate::") {
            if p[0] != m && tops.contains(&p[0]) {
                edge(&mut top, m.clone(), p[0].clone());
            }
            if let (true, Some(s), Some(t)) = (p[0] == m, &sub, p.get(1)) {
                if t != s && is_child(&m, t) {
                    edge(&mut inner, format!("{m}::{s}"), format!("{m}::{t}"));
                }
            }
        }
        if let (2, Some(s)) = (parts.len(), &sub) {
            for p in paths(&text, "super::") {
                if &p[0] != s && is_child(&m, &p[0]) {
                    edge(&mut inner, format!("{m}::{s}"), format!("{m}::{}", p[0]));
                }
            }
        }
    }
    // The test sees what it should: edges known to exist.
    assert!(
        top["app"].contains("load") && top["load"].contains("metrics"),
        "{top:?}"
    );
    assert!(inner["load::shard"].contains("load::http"), "{inner:?}");

    // The layers, bottom up (README, "Layout"): each imports only those
    // before it.
    const LAYERS: &[&str] = &[
        "error", "units", "hash", "timer", "model", "input", "metrics", "embedded", "proxy",
        "scenario", "load", "results", "search", "compare", "report", "exit", "cli", "app",
    ];
    let layer = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut found = Vec::new();
    for m in &tops {
        if layer(m).is_none() {
            found.push(format!("{m}: a new module; give it its place in LAYERS"));
        }
    }
    for (from, tos) in &top {
        for to in tos {
            if layer(to) > layer(from) {
                found.push(format!(
                    "{from} imports {to}, a layer above it (in {})",
                    why[&(from.clone(), to.clone())]
                ));
            }
        }
    }
    for graph in [&top, &inner] {
        for c in cycles(graph) {
            let mut lines = Vec::new();
            for a in &c {
                for b in &graph[a] {
                    if c.contains(b) {
                        lines.push(format!("  {a} → {b} (in {})", why[&(a.clone(), b.clone())]));
                    }
                }
            }
            found.push(format!("{}:\n{}", c.join(", "), lines.join("\n")));
        }
    }
    assert!(
        found.is_empty(),
        "imports against the layers (each imports only the layers below it):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_reader_sees_paths_in_braces_and_not_in_comments_or_tests() {
    let text = code(
        "use crate::{a::X, b, c::{D, E}};\n// crate::f\nlet u = \"http://x\"; crate::g::h();\n\
         #[cfg(test)]\nmod tests {\n    use crate::t;\n}\n#[cfg(test)]\nuse crate::u;\nfn f() { crate::v(); }\n",
    );
    let got: Vec<String> = paths(&text, "crate::")
        .into_iter()
        .map(|p| p[0].clone())
        .collect();
    assert_eq!(got, ["a", "b", "c", "g", "v"]);
    let mut g = BTreeMap::<String, BTreeSet<String>>::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("c".into()).or_default().insert("d".into());
    assert_eq!(cycles(&g), [["a", "b", "c"]]);
}

#[test]
fn each_result_file_is_named_once() {
    // Every file name headroom writes is spelled in `results::files` only;
    // the writers, `--force`, the readers and the report take it from there.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let names: Vec<String> = headroom::results::WRITTEN
        .iter()
        .filter(|n| n.contains('.'))
        .map(|n| format!("\"{n}\""))
        .collect();
    assert!(names.len() > 20, "{names:?}");
    let mut spelled = Vec::new();
    for f in &files {
        if f.ends_with("results/mod.rs") {
            continue;
        }
        let text = code(&std::fs::read_to_string(f).unwrap());
        for n in &names {
            if text.contains(n.as_str()) {
                spelled.push(format!(
                    "{n} in {}",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        spelled.is_empty(),
        "use results::files instead: {spelled:?}"
    );
}
