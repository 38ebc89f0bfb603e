//! The dependency rule of docs/architecture.md, enforced: every `crate::<module>`
//! path in `src/` is an edge between top-level modules; an edge the table below does
//! not allow, or any cycle between top-level modules, fails this test with the file
//! and line that makes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the modules it may import. `main` (the binary) may import
/// anything; `lib` only declares modules.
const RULES: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("logging", &[]),
    ("cli", &[]),
    ("store", &["domain"]),
    ("protocol", &["domain"]),
    ("keymap", &["domain", "protocol"]),
    ("theme", &["domain", "store"]),
    ("sources", &["domain", "store", "protocol"]),
    ("operator", &["domain", "store", "protocol"]),
    ("sim", &["domain", "store"]),
    (
        "config",
        &["domain", "store", "cli", "keymap", "theme", "sources"],
    ),
    ("app", &["domain", "protocol", "keymap", "theme"]),
    ("ui", &["domain", "protocol", "keymap", "theme", "app"]),
    (
        "runtime",
        &[
            "domain", "store", "protocol", "keymap", "theme", "sources", "operator", "app", "ui",
            "logging",
        ],
    ),
    (
        "cmd",
        &[
            "domain", "store", "protocol", "keymap", "theme", "sources", "operator", "sim",
            "config", "app", "ui", "runtime", "cli", "logging",
        ],
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/app/ledger.rs` → `app`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// Every `crate::name` in code (comments and string literals are skipped, roughly:
/// `//` to end of line).
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest.get(..i).and_then(|b| b.chars().last());
            let after = rest.get(i + 7..).unwrap_or("");
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')) && !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn imports_follow_the_layers_and_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} files in src/", files.len());
    let rules: BTreeMap<&str, BTreeSet<&str>> = RULES
        .iter()
        .map(|(m, allowed)| (*m, allowed.iter().copied().collect()))
        .collect();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut broken = Vec::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        if from == "main" || from == "lib" {
            continue;
        }
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (line, to) in crate_refs(&text) {
            if to == from {
                continue;
            }
            let at = format!(
                "{}:{line}",
                file.strip_prefix(&src).unwrap_or(file).display()
            );
            edges
                .entry(from.clone())
                .or_default()
                .entry(to.clone())
                .or_insert_with(|| at.clone());
            match rules.get(from.as_str()) {
                None => broken.push(format!("src/{at}: module `{from}` has no rule in RULES")),
                Some(allowed) if !allowed.contains(to.as_str()) => broken.push(format!(
                    "src/{at}: `{from}` may not import `{to}` (allowed: {allowed:?})"
                )),
                _ => {}
            }
        }
    }
    // Modules that exist but have no rule.
    for m in files.iter().filter_map(|f| module_of(&src, f)) {
        if m != "main" && m != "lib" && !rules.contains_key(m.as_str()) {
            broken.push(format!("src/{m}: no rule in RULES"));
        }
    }
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "forbidden imports:\n{}",
        broken.join("\n")
    );
    // No cycle: depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(1) => {
                let start = path.iter().position(|p| p == n).unwrap_or(0);
                let mut cycle: Vec<String> = path.get(start..).unwrap_or_default().to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for next in edges.get(n).map(|m| m.keys()).into_iter().flatten() {
            if let Some(c) = visit(next, edges, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if let Some(c) = visit(n, &edges, &mut state, &mut Vec::new()) {
            panic!("import cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_paths_in_code_not_in_comments() {
    let refs = crate_refs(
        "use crate::domain::x;\nlet a = crate::store::f(); // crate::ui\nmy_crate::app::y;\n",
    );
    assert_eq!(
        refs,
        vec![(1, "domain".to_string()), (2, "store".to_string())]
    );
}
