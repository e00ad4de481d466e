//! The map in `src/lib.rs` tells the truth: every module is in its table, every `crate::` path
//! in `src/` goes where its module's row allows, and the rows themselves keep the house rules
//! (down a layer, or within a layer where the row says so, never sideways between services).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One row of the map: its layer (`None` for test-only modules) and what it may import.
struct Row {
    layer: Option<u8>,
    may_import: BTreeSet<String>,
    everything: bool,
}

const SERVICES: u8 = 4;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The first backticked or linked identifier of a table cell.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_matches(|c| c == '[' || c == ']').to_owned())
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
        .collect()
}

fn map(lib: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in lib.lines() {
        let Some(line) = line.strip_prefix("//! |") else {
            continue;
        };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let layer = match cells[0] {
            "test" => None,
            digit if digit.len() == 1 && digit.as_bytes()[0].is_ascii_digit() => {
                Some(digit.parse().unwrap())
            }
            _ => continue,
        };
        let module = names(cells[1])
            .into_iter()
            .next()
            .expect("a module name in the row");
        let may_import = names(cells[3]).into_iter().collect();
        rows.insert(
            module,
            Row {
                layer,
                may_import,
                everything: cells[3] == "everything",
            },
        );
    }
    rows
}

/// The modules `src/lib.rs` declares.
fn declared(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.to_owned())
        })
        .collect()
}

/// The root re-exports (`pub use module::{A, B}`): which module each name comes from.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let (module, items) = rest.split_once("::").unwrap();
        for item in items.trim_matches(|c| "{};".contains(c)).split(',') {
            out.insert(item.trim().to_owned(), module.to_owned());
        }
    }
    out
}

/// The first segment of every `crate::` path in `text`, groups (`crate::{a, b::c}`) included.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        // `$crate::` in macros and identifiers ending in `crate` are not paths into the crate.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let first = item.trim().split("::").next().unwrap_or("");
                if !first.is_empty() {
                    found.insert(first.to_owned());
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
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

#[test]
fn every_module_is_on_the_map_and_imports_only_what_its_row_allows() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let rows = map(&lib);
    let declared = declared(&lib);
    let mapped: BTreeSet<String> = rows.keys().cloned().collect();
    assert_eq!(
        declared, mapped,
        "src/lib.rs declares these modules; its map lists those"
    );
    let reexports = reexports(&lib);

    let mut violations = Vec::new();
    for (module, row) in &rows {
        let mut files = Vec::new();
        let dir = src().join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src().join(format!("{module}.rs")));
        }
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in crate_paths(&text) {
                let target = reexports.get(&name).cloned().unwrap_or(name);
                if &target == module || row.everything || row.may_import.contains(&target) {
                    continue;
                }
                let shown = file.strip_prefix(src()).unwrap().display().to_string();
                violations.push(format!("src/{shown}: {module} imports {target}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports the map does not allow:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_rows_keep_the_house_rules() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let rows = map(&lib);
    for (module, row) in &rows {
        let Some(layer) = row.layer else { continue };
        for target in &row.may_import {
            let there = rows
                .get(target)
                .unwrap_or_else(|| panic!("{module} may import {target}, which is not on the map"));
            let Some(their_layer) = there.layer else {
                panic!("{module} may import the test-only module {target}");
            };
            assert!(
                their_layer <= layer,
                "{module} (layer {layer}) imports up: {target} (layer {their_layer})"
            );
            assert!(
                their_layer < layer || layer < SERVICES,
                "{module} imports the service {target} sideways"
            );
        }
    }
}

#[test]
fn the_path_reader_sees_groups_and_skips_macros() {
    let paths = crate_paths(
        "use crate::{StsErrorCode, oidc::JwkSet};\n$crate::json::x(); crate::token::Verifier",
    );
    let expected: BTreeSet<String> = ["StsErrorCode", "oidc", "token"].map(str::to_owned).into();
    assert_eq!(paths, expected);
}

/// Every file the crate and its binaries write goes through `env::write_atomic`: no other
/// code outside tests opens a file for writing.
#[test]
fn files_are_written_only_by_the_atomic_writer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut offenders = Vec::new();
    for file in &files {
        if file.ends_with("env/fs.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests sit at the end of a file, in `#[cfg(test)] mod tests`.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        for needle in [
            "fs::write(",
            "File::create(",
            "File::create_new(",
            "File::options(",
            "OpenOptions::new(",
            "fs::rename(",
            "fs::copy(",
        ] {
            if code.contains(needle) {
                offenders.push(format!("{}: {needle}", file.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "write with env::write_atomic: {offenders:?}"
    );
}
