//! ARCHITECTURE.md stays true: every path and every Rust name it writes exists.
use std::path::Path;

#[test]
fn every_path_named_in_architecture_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let paths: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| {
            ["crates/", "configs/", "docs/", "bench/", ".ci/"]
                .iter()
                .any(|prefix| span.starts_with(prefix))
        })
        .collect();
    assert!(paths.len() >= 20, "too few paths found: {paths:?}");
    let missing: Vec<&&str> = paths.iter().filter(|p| !root.join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names missing paths: {missing:?}"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains("(ARCHITECTURE.md)"),
        "README.md must link ARCHITECTURE.md"
    );
}

/// Every Rust name ARCHITECTURE.md writes in backticks exists in the sources: a type
/// (`RunDir`), a path (`LossConfig::validate`), a call (`phases`-like names with `_` or `()`),
/// each segment defined somewhere as an item, a variant or a field. Single lower-case words
/// (`flex`, `finished`) are values and file names as often as code, and are not checked.
#[test]
fn every_name_in_architecture_md_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut sources = String::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources += &std::fs::read_to_string(&path).unwrap();
            }
        }
    }
    let defined = |name: &str| {
        let starts = [
            "fn ",
            "struct ",
            "enum ",
            "trait ",
            "type ",
            "const ",
            "static ",
            "mod ",
            "macro_rules! ",
        ];
        sources.match_indices(name).any(|(at, _)| {
            let before = &sources[..at];
            let after = &sources[at + name.len()..];
            let ends_word = !after.starts_with(|c: char| c.is_alphanumeric() || c == '_');
            let line = before.rsplit('\n').next().unwrap_or("").trim_start();
            let line = line
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub(super) ")
                .trim_start_matches("pub ");
            ends_word
                && (starts.iter().any(|s| line.ends_with(s))
                    // A variant or a field: the name opens its line.
                    || (line.is_empty() && after.starts_with([' ', ':', '(', '{', ','])))
        })
    };
    // Names of the crates we build on (Burn, serde, anyhow, std), which it mentions too.
    const EXTERNAL: [&str; 8] = [
        "sum_dim",
        "serde_path_to_error",
        "HammingScore",
        "Module",
        "anyhow",
        "Result",
        "FromStr",
        "Display",
    ];
    let names: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.trim_end_matches("()"))
        .filter(|span| {
            let mut segments = span.split("::");
            segments.all(|s| {
                !s.is_empty()
                    && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) && (span.contains("::")
                || span.contains('_')
                || span.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .collect();
    assert!(names.len() >= 40, "too few names found: {names:?}");
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| {
            !name
                .split("::")
                .all(|s| EXTERNAL.contains(&s) || defined(s))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what the sources do not define: {missing:?}"
    );
}

/// The binary's places use only those below them (ARCHITECTURE.md, "The binary's places"):
/// no `crate::` path in a module's code (its tests and comments aside) names a place above its
/// own.
#[test]
fn the_binary_places_import_only_those_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let order = ["reporting", "run", "task", "compare", "commands"];
    let rank = |place: &str| order.iter().position(|p| *p == place);
    let mut violations = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let Some(own) = relative
                .components()
                .next()
                .and_then(|c| rank(&c.as_os_str().to_string_lossy()))
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or("")
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for (used, _) in code.match_indices("crate::") {
                let name: String = code[used + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if let Some(other) = rank(&name).filter(|&other| other > own) {
                    violations.push(format!(
                        "{} uses crate::{}",
                        relative.display(),
                        order[other]
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// A loss owns its configuration: its own keys are spelled in its file alone within the loss
/// crate's sources (issue 26), packed losses included.
#[test]
fn a_loss_key_is_spelled_in_its_own_file_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rebalance-loss/src");
    for (key, own) in [("max_margin", "ldam.rs"), ("remine_lambda", "lade.rs")] {
        let elsewhere: Vec<_> = rust_files(&src)
            .into_iter()
            .filter(|file| !file.ends_with(own))
            .filter(|file| std::fs::read_to_string(file).unwrap().contains(key))
            .collect();
        assert!(elsewhere.is_empty(), "{key} is spelled in {elsewhere:?}");
    }
}
