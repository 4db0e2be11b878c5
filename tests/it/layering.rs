//! The layering of `src/`, checked (DESIGN §2, STYLE rule 15): it stands in for the crate
//! boundaries a workspace would give. It reads every `src/**/*.rs`, finds each reference one
//! top-level module makes to another (`use` trees with nested braces, inline `crate::` paths, and
//! `super::` paths that leave the module), and fails on:
//! - an import against the layer table below (a module imports only modules of lower rank; the
//!   foundation, rank 0, imports no domain, HTTP or composition module);
//! - a cycle between top-level modules (the foundation's modules among themselves included);
//! - the backend escape hatch (`on_inner!`, `fetch_optional_inner!`) outside `db/` and storage
//!   modules (`*/storage.rs`);
//! - diesel in `http/`;
//! - an `http/` module reaching into another API's modules: each API (`http/scim/`,
//!   `http/admin/`, `http/app/`, `http/crewplanner.rs`, `http/health.rs`) imports only itself and
//!   the shared plumbing (`http/mod.rs`, `auth`, `intake`, `error`, `telemetry`, and any other
//!   top-level file that is no API), and the plumbing imports no API; `http/mod.rs`, which
//!   composes the route table, may name them all.
//!
//! Unit-test modules (`#[cfg(test)] mod … { … }`) are left out: they may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import modules of a lower rank; modules of rank 0 (the
/// foundation) may also import each other, as long as no cycle forms.
const LAYERS: &[(usize, &[&str])] = &[
    (
        0,
        &[
            "scim", "db", "jobs", "email", "sms", "config", "context", "i18n", "phone", "text",
            "crypto", "clock", "error", "jwks", "jwt", "metrics",
        ],
    ),
    (1, &["accounts"]),
    (2, &["audit", "sessions", "console_sessions"]),
    (3, &["groups", "stores"]),
    (4, &["users"]),
    (
        5,
        &[
            "invitations",
            "crewplanner",
            "oauth",
            "refold",
            "search",
            "signin",
        ],
    ),
    (6, &["state"]),
    (7, &["http"]),
    (8, &["app"]),
    (9, &["bench"]),
    (10, &["cli"]),
];

/// The APIs under `http/`: folders or files whose modules may import only their own API and the
/// shared plumbing (every other module directly under `http/`).
const HTTP_APIS: &[&str] = &[
    "scim",
    "admin",
    "app",
    "crewplanner",
    "health",
    "oauth",
    "console",
];

/// Items at the crate root that belong to a module: the escape-hatch macros (`#[macro_export]`
/// puts them at the root) are `db`'s.
const ROOT_ITEMS: &[(&str, &str)] = &[("on_inner", "db"), ("fetch_optional_inner", "db")];

fn rank_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .find(|(_, modules)| modules.contains(&module))
        .map(|(rank, _)| *rank)
}

/// Removes comments, string and char literals, so paths inside them are not read as code.
fn strip(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("/*") {
            // Block comments nest in Rust.
            let mut depth = 0;
            let mut j = 0;
            while j < rest.len() {
                if rest[j..].starts_with("/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with("*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += rest[j..].chars().next().map_or(1, char::len_utf8);
                }
            }
            i += j;
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body_start = 2 + hashes + 1; // r, hashes, quote (+ the `b` of br".." is handled below)
            let end = rest[body_start..]
                .find(&close)
                .map_or(rest.len(), |e| body_start + e + close.len());
            out.push_str("\"\"");
            i += end;
        } else if rest.starts_with('"') {
            let mut j = 1;
            let rb = rest.as_bytes();
            while j < rb.len() && rb[j] != b'"' {
                j += if rb[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += (j + 1).min(rest.len());
        } else if rest.starts_with('\'') && char_literal_len(rest).is_some() {
            out.push_str("' '");
            i += char_literal_len(rest).expect("checked");
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The number of `#` of a raw string starting here (`r"`, `r#"`, `br"`), if one does.
fn raw_string_start(rest: &str) -> Option<usize> {
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    let after_r = rest.strip_prefix('r')?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    after_r[hashes..].starts_with('"').then_some(hashes)
}

/// The length of a char literal starting here (`'a'`, `'\n'`, `'\u{1F600}'`), not a lifetime.
fn char_literal_len(rest: &str) -> Option<usize> {
    let mut chars = rest.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        let close = rest[2..].find('\'')?;
        return (close <= 10).then_some(2 + close + 1);
    }
    let (idx, second) = chars.next()?;
    (second == '\'').then_some(idx + 1)
}

/// Drops `#[cfg(test)]` modules (with their braces).
fn without_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let open = trimmed.find('{').filter(|o| !trimmed[..*o].contains(';'));
        if let Some(open) = open.filter(|o| trimmed.starts_with("mod ") && *o < 80) {
            let mut depth = 0;
            let mut end = trimmed.len();
            for (k, c) in trimmed[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &trimmed[end..];
            continue;
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Expands a use tree (`crate::{a::b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    // `x as y`: the alias changes nothing about what is imported.
    let mut words: Vec<&str> = tree.split_whitespace().collect();
    while let Some(at) = words.iter().position(|w| *w == "as") {
        let end = (at + 2).min(words.len());
        // Keep a separator glued to the alias (`y,` or `y}`).
        let tail: String = words
            .get(at + 1)
            .map(|w| {
                w.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_')
                    .to_owned()
            })
            .unwrap_or_default();
        words.splice(
            at..end,
            std::iter::once(Box::leak(tail.into_boxed_str()) as &str),
        );
    }
    let tree: String = words.concat();
    fn go(prefix: &str, tree: &str, out: &mut Vec<String>) {
        match tree.find('{') {
            None => {
                for part in tree.split(',').filter(|p| !p.is_empty()) {
                    out.push(format!("{prefix}{part}"));
                }
            }
            Some(open) => {
                // Items before the brace group, separated by commas at depth 0.
                let mut depth = 0;
                let mut start = 0;
                let bytes: Vec<char> = tree.chars().collect();
                let mut items = Vec::new();
                for (k, c) in bytes.iter().enumerate() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            items.push(bytes[start..k].iter().collect::<String>());
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                items.push(bytes[start..].iter().collect::<String>());
                if items.len() > 1 {
                    for item in items {
                        go(prefix, &item, out);
                    }
                    return;
                }
                let head = &tree[..open];
                let inner = tree[open + 1..]
                    .strip_suffix('}')
                    .unwrap_or(&tree[open + 1..]);
                go(&format!("{prefix}{head}"), inner, out);
            }
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out
}

/// Every path a file's code names: the expanded `use` trees, then inline `crate::`/`super::` paths.
fn paths_in(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    let mut body = String::new();
    while let Some(at) = find_use(rest) {
        body.push_str(&rest[..at]);
        let after = &rest[at..];
        let end = after.find(';').unwrap_or(after.len());
        let tree = after["use".len()..end].trim();
        paths.extend(expand(tree));
        rest = &after[end..];
    }
    body.push_str(rest);
    // Inline paths: `crate::a::b`, `super::super::x`.
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let word: String = chars[i..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        if boundary && (word == "crate" || word == "super") {
            let mut j = i;
            let mut path = String::new();
            loop {
                let seg: String = chars[j..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                if seg.is_empty() {
                    break;
                }
                path.push_str(&seg);
                j += seg.chars().count();
                if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                    path.push_str("::");
                    j += 2;
                } else {
                    break;
                }
            }
            paths.push(path.trim_end_matches("::").to_owned());
            i = j.max(i + 1);
        } else {
            i += word.chars().count().max(1);
        }
    }
    paths
}

/// Where the next `use` statement starts (`use`, `pub use`, `pub(crate) use`), as a keyword.
fn find_use(code: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = code[from..].find("use ") {
        let at = from + at;
        let before = code[..at].chars().next_back();
        if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

/// The module path `path` names from a file whose module path is `module`, if it is a crate path.
fn resolve(module: &[String], path: &str, crate_name: &str) -> Option<Vec<String>> {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut resolved: Vec<String> = match segments.first() {
        Some(&"crate") => Vec::new(),
        Some(&"super") => module.to_vec(),
        Some(s) if *s == crate_name => Vec::new(),
        _ => return None,
    };
    let mut rest = &segments[1..];
    if segments[0] == "super" {
        resolved.pop();
        while rest.first() == Some(&"super") {
            resolved.pop();
            rest = &rest[1..];
        }
    }
    for s in rest {
        resolved.push((*s).to_owned());
    }
    Some(resolved)
}

/// The top-level module `path` leads to from a file whose module path is `module`, if another.
fn target(module: &[String], path: &str, crate_name: &str) -> Option<String> {
    let resolved = resolve(module, path, crate_name)?;
    let mut top = resolved.first()?.clone();
    if let Some((_, owner)) = ROOT_ITEMS.iter().find(|(item, _)| *item == top) {
        top = (*owner).to_owned();
    }
    (Some(&top) != module.first()).then_some(top)
}

/// The API an `http/` module belongs to (`None`: the shared plumbing, `http/mod.rs` included).
fn http_api(module: &[String]) -> Option<&str> {
    match module {
        [http, api, ..] if http == "http" => HTTP_APIS.iter().copied().find(|a| a == api),
        _ => None,
    }
}

/// Where an `http/` module at `module` names another API's module through `path`.
fn crosses_apis(module: &[String], path: &str) -> Option<String> {
    if module.len() < 2 || module[0] != "http" {
        return None; // not in http/, or http/mod.rs itself
    }
    let resolved = resolve(module, path, "crate")?;
    let to = http_api(&resolved)?;
    let from = http_api(module);
    (from != Some(to)).then(|| match from {
        Some(from) => format!(
            "the {from} API imports the {to} API through `{path}`: APIs share only the plumbing of http/"
        ),
        None => format!(
            "the shared plumbing imports the {to} API through `{path}`: the plumbing serves every API and names none"
        ),
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's module path (`src/users/storage.rs` → `users::storage`; `mod.rs` is its folder).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// What the layering of a source tree breaks, one line each.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut found = Vec::new();
    for file in &files {
        let module = module_of(src, file);
        let shown = file.strip_prefix(src).unwrap().display().to_string();
        let code = without_test_modules(&strip(&std::fs::read_to_string(file).unwrap()));
        let is_main = shown == "main.rs";
        let crate_name = if is_main { "mobietrain_scim" } else { "crate" };
        for path in paths_in(&code) {
            if let Some(crossing) = crosses_apis(&module, &path) {
                found.push(format!("{shown}: {crossing}"));
            }
        }
        if let Some(top) = module.first() {
            for path in paths_in(&code) {
                if let Some(to) = target(&module, &path, crate_name) {
                    edges.entry(top.clone()).or_default().insert(to.clone());
                    match (rank_of(top), rank_of(&to)) {
                        (None, _) => found.push(format!(
                            "{shown}: module `{top}` is in no layer: add it to LAYERS (tests/it/layering.rs) and README \"Layout\""
                        )),
                        (_, None) => found.push(format!(
                            "{shown}: `{path}` names `{to}`, which is in no layer"
                        )),
                        (Some(a), Some(b)) if a == 0 && b == 0 => {}
                        (Some(a), Some(b)) if b >= a => found.push(format!(
                            "{shown}: `{top}` (layer {a}) imports `{to}` (layer {b}) through `{path}`: only lower layers may be imported"
                        )),
                        _ => {}
                    }
                }
            }
        }
        let in_db = module.first().is_some_and(|m| m == "db");
        let is_storage = module.iter().any(|m| m == "storage");
        for hatch in ["on_inner!", "fetch_optional_inner!"] {
            if code.contains(hatch)
                && !in_db
                && !is_storage
                && !code.contains(&format!("macro_rules! {}", hatch.trim_end_matches('!')))
            {
                found.push(format!(
                    "{shown}: uses the backend escape hatch `{hatch}` outside db/ and storage modules"
                ));
            }
        }
        if module.first().is_some_and(|m| m == "http")
            && paths_in(&code)
                .iter()
                .any(|p| p == "diesel" || p.starts_with("diesel::"))
        {
            found.push(format!(
                "{shown}: uses diesel; ask the owning domain module"
            ));
        }
    }
    // Cycles between top-level modules.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut BTreeSet<String>,
    ) {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            cycles.insert(cycle.join(" → "));
            return;
        }
        if !done.insert(node.to_owned()) {
            return;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done, cycles);
        }
        stack.pop();
    }
    let mut cycles = BTreeSet::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        visit(node, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    found.extend(cycles.into_iter().map(|c| format!("import cycle: {c}")));
    found.sort();
    found.dedup();
    found
}

#[test]
fn src_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "the layering of src/ (DESIGN §2, README \"Layout\") is broken in {} places:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_nested_use_trees_inline_and_super_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("groups")).unwrap();
    std::fs::create_dir_all(src.join("http")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod groups; pub mod users;").unwrap();
    // A foundation module reaching up, in a nested use tree, hidden among others.
    std::fs::write(
        src.join("text.rs"),
        "use crate::{scim::{self, x}, db::{a, b::{c, users_like}}, clock};\n\
         // crate::users in a comment is no import\n\
         const S: &str = \"crate::users\";\n\
         fn f() { let _ = crate::users::get; }\n",
    )
    .unwrap();
    // A sibling ring through `super::` out of a folder module, and an inline path back.
    std::fs::write(src.join("groups/mod.rs"), "use super::stores::Store;\n").unwrap();
    std::fs::write(
        src.join("stores.rs"),
        "fn g() { crate::groups::h(); }\n#[cfg(test)]\nmod tests { use crate::http::x; }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("groups/storage.rs"),
        "fn s() { on_inner!(conn, c, c); }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("http/x.rs"),
        "use diesel::prelude::*;\nfn q() { fetch_optional_inner!(a); }\n",
    )
    .unwrap();
    std::fs::write(src.join("nowhere.rs"), "use crate::db::x;\n").unwrap();
    let found = violations(src);
    let expect = [
        "text.rs: `text` (layer 0) imports `users` (layer 4) through `crate::users::get`",
        "groups/mod.rs: `groups` (layer 3) imports `stores` (layer 3)",
        "stores.rs: `stores` (layer 3) imports `groups` (layer 3)",
        "import cycle: groups → stores → groups",
        "http/x.rs: uses the backend escape hatch `fetch_optional_inner!`",
        "http/x.rs: uses diesel",
        "nowhere.rs: module `nowhere` is in no layer",
    ];
    for e in expect {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "expected a line starting {e:?} in:\n{}",
            found.join("\n")
        );
    }
    // Not flagged: comments, strings, a test module, the storage module's escape hatch, the
    // foundation's own imports.
    assert!(
        !found
            .iter()
            .any(|f| f.contains("`http`") && f.starts_with("stores.rs"))
    );
    assert!(!found.iter().any(|f| f.starts_with("groups/storage.rs")));
    assert_eq!(
        found.iter().filter(|f| f.starts_with("text.rs")).count(),
        1,
        "{found:?}"
    );
}

#[test]
fn http_apis_share_only_the_plumbing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    for folder in ["http/scim", "http/admin", "http/app"] {
        std::fs::create_dir_all(src.join(folder)).unwrap();
    }
    std::fs::write(src.join("lib.rs"), "pub mod http;").unwrap();
    // The route table names every API; the plumbing and each API name the plumbing.
    std::fs::write(
        src.join("http/mod.rs"),
        "pub mod scim;\nfn c() { crate::http::scim::routes(); crate::http::admin::routes(); }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("http/auth.rs"),
        "use super::error::Failure;\nuse super::intake::Intake;\n",
    )
    .unwrap();
    // Allowed: its own API (super:: within scim/), the plumbing by either spelling.
    std::fs::write(
        src.join("http/scim/users.rs"),
        "use super::kit::Resource;\nuse super::super::auth::ScimInput;\n\
         use crate::http::{error::ScimError, run_db, SCIM_JSON};\n",
    )
    .unwrap();
    // Crossings: a nested use tree, an inline path, `super::super::` out of a folder, a file API.
    std::fs::write(
        src.join("http/scim/kit.rs"),
        "use crate::http::{auth::X, admin::{views::Job, PageParams}};\n",
    )
    .unwrap();
    std::fs::write(
        src.join("http/admin/users.rs"),
        "fn f() { let _ = crate::http::scim::kit::representation; }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("http/app/mod.rs"),
        "use super::crewplanner::launch;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("http/admin/mod.rs"),
        "use super::app::AppCaller;\n// crate::http::scim in a comment is no import\n",
    )
    .unwrap();
    std::fs::write(
        src.join("http/error.rs"),
        "use super::scim::kit::ScimReply;\n",
    )
    .unwrap();
    let found: Vec<String> = violations(src)
        .into_iter()
        .filter(|f| f.contains(" API"))
        .collect();
    let expect = [
        "http/scim/kit.rs: the scim API imports the admin API through `crate::http::admin::views::Job`",
        "http/scim/kit.rs: the scim API imports the admin API through `crate::http::admin::PageParams`",
        "http/admin/users.rs: the admin API imports the scim API through `crate::http::scim::kit::representation`",
        "http/app/mod.rs: the app API imports the crewplanner API through `super::crewplanner::launch`",
        "http/admin/mod.rs: the admin API imports the app API through `super::app::AppCaller`",
        "http/error.rs: the shared plumbing imports the scim API through `super::scim::kit::ScimReply`",
    ];
    for e in expect {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "expected a line starting {e:?} in:\n{}",
            found.join("\n")
        );
    }
    assert_eq!(found.len(), expect.len(), "{}", found.join("\n"));
}
