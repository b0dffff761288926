//! Keeps the workspace true to the architecture invariants (ARCHITECTURE.md, ADR 0002) by
//! reading `cargo metadata`, and proves the check can fail on a deliberately bad fixture.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use runtime::EventContracts;
use serde_json::Value;

/// What a domain crate may depend on besides `shared_kernel`: libraries that do no I/O.
const DOMAIN_ALLOW_LIST: &[&str] = &[
    "cqrs-es",
    "serde",
    "serde_json",
    "uuid",
    "rust_decimal",
    "thiserror",
    "async-trait",
    "chrono",
    "time",
    "tracing",
];

/// Crates that do I/O or belong to an outer layer; never in the shared kernel.
const IO_CRATES: &[&str] = &[
    "tokio",
    "sqlx",
    "postgres-es",
    "sqlite-es",
    "actix-web",
    "reqwest",
    "async-nats",
    "opentelemetry_sdk",
    "hyper",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    SharedKernel,
    Domain,
    Runtime,
    Adapter,
    CompositionRoot,
    Tests,
}

struct Package {
    name: String,
    layer: Layer,
    /// (dependency name, is it a dev-dependency)
    dependencies: Vec<(String, bool)>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

fn metadata(manifest: &Path) -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

fn packages(root: &Path) -> Vec<Package> {
    let metadata = metadata(&root.join("Cargo.toml"));
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest"));
            let relative = manifest
                .strip_prefix(root)
                .expect("a member inside the workspace")
                .to_string_lossy()
                .replace('\\', "/");
            let layer = match relative.split('/').collect::<Vec<_>>().as_slice() {
                ["shared_kernel", ..] => Layer::SharedKernel,
                ["domains", ..] => Layer::Domain,
                ["adapters", ..] => Layer::Adapter,
                ["platform", "app", ..] => Layer::CompositionRoot,
                ["platform", ..] => Layer::Runtime,
                ["tests", ..] => Layer::Tests,
                other => panic!("{other:?} is outside the layout of ADR 0002"),
            };
            let dependencies = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| {
                    let name = d["name"].as_str().expect("name").to_owned();
                    (name, d["kind"].as_str() == Some("dev"))
                })
                .collect();
            Package {
                name: package["name"].as_str().expect("name").to_owned(),
                layer,
                dependencies,
            }
        })
        .collect()
}

/// Every broken rule, as a sentence naming the crate and the dependency.
fn violations(root: &Path) -> Vec<String> {
    let packages = packages(root);
    let layer_of = |name: &str| packages.iter().find(|p| p.name == name).map(|p| p.layer);
    let mut found = Vec::new();
    for package in &packages {
        for (dependency, dev) in &package.dependencies {
            let target = layer_of(dependency);
            let who = &package.name;
            match (package.layer, target) {
                (Layer::SharedKernel, Some(_)) => found.push(format!(
                    "shared_kernel depends on workspace crate {dependency}"
                )),
                (Layer::SharedKernel, None) if IO_CRATES.contains(&dependency.as_str()) && !dev => {
                    found.push(format!("shared_kernel depends on I/O crate {dependency}"))
                }
                (Layer::Domain, Some(Layer::SharedKernel)) => {}
                (Layer::Domain, Some(_)) => found.push(format!(
                    "domain crate {who} depends on workspace crate {dependency}"
                )),
                (Layer::Domain, None)
                    if !dev && !DOMAIN_ALLOW_LIST.contains(&dependency.as_str()) =>
                {
                    found.push(format!(
                        "domain crate {who} depends on {dependency}, which is not on the allow-list"
                    ))
                }
                (Layer::Runtime, Some(Layer::Adapter | Layer::CompositionRoot)) => found.push(
                    format!("platform crate {who} depends on outer crate {dependency}"),
                ),
                (Layer::Adapter, Some(Layer::Adapter | Layer::CompositionRoot)) => {
                    found.push(format!(
                        "adapter {who} depends on {dependency}: adapters never know each other"
                    ))
                }
                _ => {}
            }
        }
        if package.name == "runtime" {
            for (dependency, _) in &package.dependencies {
                if layer_of(dependency) == Some(Layer::Domain) {
                    found.push(format!("runtime depends on domain crate {dependency}"));
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn workspace_respects_the_dependency_rules() {
    let found = violations(&workspace_root());
    assert!(
        found.is_empty(),
        "architecture violations:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_rejects_a_violating_fixture() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/violating");
    let found: BTreeSet<String> = violations(&fixture).into_iter().collect();
    let expected: BTreeSet<String> = [
        "shared_kernel depends on workspace crate alpha",
        "domain crate beta depends on workspace crate alpha",
        "domain crate beta depends on sqlx, which is not on the allow-list",
        "adapter web depends on db: adapters never know each other",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn only_the_composition_root_knows_every_adapter() {
    let packages = packages(&workspace_root());
    let adapters: Vec<&str> = packages
        .iter()
        .filter(|p| p.layer == Layer::Adapter)
        .map(|p| p.name.as_str())
        .collect();
    let root = packages
        .iter()
        .find(|p| p.layer == Layer::CompositionRoot)
        .expect("a composition root");
    for adapter in &adapters {
        assert!(
            root.dependencies.iter().any(|(d, _)| d == adapter),
            "the composition root does not wire {adapter}"
        );
    }
}

#[test]
fn no_domain_or_kernel_code_uses_floating_point_money() {
    let root = workspace_root();
    let mut offenders = Vec::new();
    for dir in ["shared_kernel", "domains"] {
        visit_rust_files(&root.join(dir), &mut |path, text| {
            if text.contains("f64") || text.contains("f32") {
                offenders.push(path.display().to_string());
            }
        });
    }
    assert!(offenders.is_empty(), "floating point in {offenders:?}");
}

/// ADR 0033: the project's spans are made current with `runtime::telemetry::traced`, never
/// entered for the whole of an asynchronous piece of work. An entered span is captured by
/// every sqlx query started inside it and entered again on every poll of the query.
#[test]
fn no_span_is_entered_across_awaits() {
    let root = workspace_root();
    let mut offenders = Vec::new();
    for dir in ["platform", "adapters", "domains", "shared_kernel"] {
        visit_rust_files(&root.join(dir), &mut |path, text| {
            // Tests may instrument their own futures; the code they test may not.
            let in_tests = path.components().any(|c| c.as_os_str() == "tests");
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            for pattern in [
                ".instrument(",
                ".in_current_span()",
                "#[instrument",
                "#[tracing::instrument",
            ] {
                if !in_tests && code.contains(pattern) {
                    offenders.push(format!("{} ({pattern})", path.display()));
                }
            }
        });
    }
    assert!(
        offenders.is_empty(),
        "spans entered across awaits in {offenders:?}"
    );
}

#[test]
fn every_adr_names_its_confirmation() {
    let dir = workspace_root().join("governance/adr");
    let mut adrs = 0;
    for entry in std::fs::read_dir(&dir).expect("governance/adr exists") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".md") || !name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        adrs += 1;
        let text = std::fs::read_to_string(&path).expect("readable ADR");
        assert!(
            text.contains("### Confirmation"),
            "{name} has no Confirmation section"
        );
    }
    assert!(adrs >= 7, "expected the foundation ADRs, found {adrs}");
}

/// The ADR index (`governance/adr/README.md`) lists every ADR, once, with the title and the
/// status its file states (the status's own words, before any note on what refines it), and
/// names no file that does not exist.
#[test]
fn the_adr_index_lists_every_adr_with_its_title_and_status() {
    let dir = workspace_root().join("governance/adr");
    let index = std::fs::read_to_string(dir.join("README.md")).expect("the ADR index");
    // `| 0001 | [Title](0001-file.md) | accepted |`, columns padded or not.
    let mut rows: std::collections::BTreeMap<String, (String, String, String)> =
        std::collections::BTreeMap::new();
    for line in index.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, number, link, status, _] = cells[..] else {
            continue;
        };
        if number.len() != 4 || !number.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let (title, file) = link
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|rest| rest.split_once("]("))
            .unwrap_or_else(|| panic!("ADR {number}'s index row has no [title](file) link"));
        let previous = rows.insert(
            number.to_owned(),
            (title.to_owned(), file.to_owned(), status.to_owned()),
        );
        assert!(previous.is_none(), "ADR {number} is listed twice");
    }
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("governance/adr exists") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        if !name.ends_with(".md") || !name.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        files += 1;
        let number = &name[..4];
        let text = std::fs::read_to_string(dir.join(&name)).expect("readable ADR");
        let title = text
            .lines()
            .next()
            .and_then(|heading| heading.strip_prefix(&format!("# {number}. ")))
            .unwrap_or_else(|| panic!("{name} does not start with `# {number}. <title>`"));
        let status = text
            .lines()
            .find_map(|line| line.strip_prefix("- Status: "))
            .unwrap_or_else(|| panic!("{name} states no status"));
        let status = status.split([';', '(']).next().unwrap_or_default().trim();
        let (listed_title, listed_file, listed_status) = rows
            .get(number)
            .unwrap_or_else(|| panic!("{name} is missing from the ADR index"));
        assert_eq!(
            listed_file, &name,
            "ADR {number}'s index row links elsewhere"
        );
        assert_eq!(listed_title, title, "ADR {number}'s title in the index");
        assert_eq!(listed_status, status, "ADR {number}'s status in the index");
    }
    assert_eq!(rows.len(), files, "the index lists ADRs that have no file");
}

/// ARCHITECTURE.md states each invariant as an `Architecture invariant:` paragraph naming, in
/// backticks, the tests that keep it true: every one of those names is a test function of the
/// workspace, so an invariant cannot outlive its test unnoticed.
#[test]
fn every_architecture_invariant_names_a_test_that_exists() {
    let root = workspace_root();
    let guide = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut functions = std::collections::BTreeSet::new();
    for dir in ["tests", "platform", "adapters", "domains", "shared_kernel"] {
        visit_rust_files(&root.join(dir), &mut |_, text| {
            for line in text.lines() {
                let line = line.trim_start();
                let line = line.strip_prefix("pub ").unwrap_or(line);
                let line = line.strip_prefix("async ").unwrap_or(line);
                if let Some(rest) = line.strip_prefix("fn ") {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    functions.insert(name);
                }
            }
        });
    }
    let mut invariants = 0;
    for paragraph in guide.split("\n\n") {
        if !paragraph.starts_with("Architecture invariant:") {
            continue;
        }
        invariants += 1;
        let named: Vec<&str> = paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .filter(|name| name.contains('_') && name.len() > 20)
            .collect();
        assert!(!named.is_empty(), "an invariant names no test: {paragraph}");
        for name in named {
            assert!(
                functions.contains(name),
                "ARCHITECTURE.md names `{name}`, which is no test of the workspace"
            );
        }
    }
    assert!(
        invariants >= 10,
        "expected the invariants, found {invariants}"
    );
}

fn visit_rust_files(dir: &Path, visit: &mut dyn FnMut(&Path, &str)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit_rust_files(&path, visit);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            visit(&path, &text);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The context map (issue 13): generated from the code, so that it cannot drift.

/// The file the context map is kept in; `UPDATE_CONTEXT_MAP=1` rewrites it.
const CONTEXT_MAP: &str = "governance/context-map.md";

/// The identifiers in `text` (words of letters, digits and underscores).
fn identifiers(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with(|c: char| c.is_ascii_alphabetic()))
        .map(str::to_owned)
        .collect()
}

/// The block that starts at the line containing `start`: up to the first line that is `}`.
fn block_at<'t>(text: &'t str, start: &str) -> Option<&'t str> {
    let from = text.find(start)?;
    let rest = &text[from..];
    let end = rest.find("\n}").map_or(rest.len(), |at| at + 2);
    Some(&rest[..end])
}

/// The Markdown of the context map: the bounded contexts, the ports each declares with what
/// serves them (another context, through `platform/application`, or an adapter), and which
/// published events flow from which context to the feed's consumers.
fn context_map(root: &Path) -> String {
    // Contexts: the crates under domains/, and the types each defines.
    let mut contexts: Vec<String> = std::fs::read_dir(root.join("domains"))
        .expect("domains/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    contexts.sort();
    let mut defined_in: std::collections::BTreeMap<String, String> = Default::default();
    let mut aggregate_types: std::collections::BTreeMap<String, String> = Default::default();
    let mut ports: Vec<(String, String)> = Vec::new();
    for context in &contexts {
        visit_rust_files(
            &root.join("domains").join(context).join("src"),
            &mut |path, text| {
                for line in text.lines() {
                    for keyword in ["pub struct ", "pub enum "] {
                        if let Some(rest) = line.strip_prefix(keyword) {
                            let name: String = rest
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect();
                            defined_in.insert(name, context.clone());
                        }
                    }
                    if let Some(rest) = line.trim().strip_prefix("const TYPE: &'static str = \"") {
                        let name = rest.split('"').next().unwrap_or_default();
                        aggregate_types.insert(name.to_owned(), context.clone());
                    }
                    if path.file_name().is_some_and(|name| name == "ports.rs") {
                        if let Some(rest) = line.strip_prefix("pub trait ") {
                            let name: String = rest
                                .chars()
                                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect();
                            ports.push((name, context.clone()));
                        }
                    }
                }
            },
        );
    }
    ports.sort();
    // What serves each port: `impl Port for Type` in platform/application (the contexts whose
    // types the implementing struct holds) or in an adapter crate (the adapter).
    let mut served: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for dir in ["platform/application/src", "adapters", "domains"] {
        visit_rust_files(&root.join(dir), &mut |path, text| {
            // Test doubles serve nothing in the running system.
            if path
                .file_name()
                .is_some_and(|name| name == "tests.rs" || name == "testing.rs")
            {
                return;
            }
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            let relative = path.strip_prefix(root).unwrap_or(path).to_string_lossy();
            for (port, declared_by) in &ports {
                let opening = format!("impl {port} for ");
                for (at, _) in text.match_indices(&opening) {
                    let implementor: String = text[at + opening.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let by: BTreeSet<String> = if relative.starts_with("adapters/") {
                        let adapter = relative.split('/').nth(1).unwrap_or_default();
                        [format!("adapter {adapter}")].into()
                    } else if relative.starts_with("domains/") {
                        let context = relative.split('/').nth(1).unwrap_or_default();
                        [context.to_owned()].into()
                    } else {
                        let fields = block_at(text, &format!("pub struct {implementor}"))
                            .map(identifiers)
                            .unwrap_or_default();
                        fields
                            .iter()
                            .filter_map(|name| defined_in.get(name))
                            .filter(|context| *context != declared_by)
                            .cloned()
                            .collect()
                    };
                    served.entry(port.clone()).or_default().extend(by);
                }
            }
        });
    }
    // Published events, by the context whose aggregate stores them.
    let mut published: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for (aggregate_type, event_type) in contracts::published_stored_events() {
        let context = aggregate_types
            .get(aggregate_type)
            .cloned()
            .unwrap_or_else(|| aggregate_type.to_owned());
        let public = contracts::PublishedLanguage
            .public_type(aggregate_type, event_type)
            .expect("a published type");
        published.entry(context).or_default().push(public);
    }
    let projections: Vec<&str> = commerce::all_projections()
        .iter()
        .map(|projection| projection.name())
        .collect();
    let mut sagas: Vec<String> = Vec::new();
    visit_rust_files(&root.join("platform/application/src"), &mut |_, text| {
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("const NAME: &'static str = \"") {
                sagas.push(rest.split('"').next().unwrap_or_default().to_owned());
            }
        }
    });
    sagas.sort();

    let mut map = String::new();
    map.push_str(
        "# Context map\n\n\
         Generated from the code by `tests/tests/architecture.rs` \
         (`the_context_map_is_generated_from_the_code`); do not edit it by hand. To regenerate \
         it after a change: `UPDATE_CONTEXT_MAP=1 cargo test -p acceptance --test architecture \
         context_map`.\n\n\
         Solid arrows: a context's port (declared in its `ports` module) and the context that \
         serves it, wired in `platform/application`. Dotted arrows: a port an adapter serves. \
         Thick arrows: the published events a context's streams feed to the global feed, and \
         who follows the feed.\n\n```mermaid\nflowchart LR\n",
    );
    for context in &contexts {
        map.push_str(&format!("  {context}[\"{context}\"]\n"));
    }
    for (port, declared_by) in &ports {
        for by in served.get(port).into_iter().flatten() {
            match by.strip_prefix("adapter ") {
                Some(adapter) => map.push_str(&format!(
                    "  {declared_by} -. {port} .-> adapter_{adapter}([\"{adapter}\"])\n"
                )),
                // A context serving its own port (an in-memory or table implementation) is in
                // the table below, not an arrow.
                None if by == declared_by => {}
                None => map.push_str(&format!("  {declared_by} -- {port} --> {by}\n")),
            }
        }
    }
    map.push_str("  feed[(\"global feed\")]\n");
    for (context, types) in &published {
        map.push_str(&format!(
            "  {context} == \"{} events\" ==> feed\n",
            types.len()
        ));
    }
    map.push_str(&format!(
        "  feed ==> read_models[\"read models: {}\"]\n",
        projections.join(", ")
    ));
    map.push_str(&format!(
        "  feed ==> sagas[\"sagas: {}\"]\n",
        sagas.join(", ")
    ));
    map.push_str("  feed ==> delivery[\"GET /v1/events, SSE, NATS relay, webhooks\"]\n```\n\n");
    map.push_str("## Ports\n\n| port | declared by | served by |\n|---|---|---|\n");
    for (port, declared_by) in &ports {
        let by: Vec<String> = served.get(port).into_iter().flatten().cloned().collect();
        let by = if by.is_empty() {
            "nothing in the workspace".to_owned()
        } else {
            by.join(", ")
        };
        map.push_str(&format!("| `{port}` | {declared_by} | {by} |\n"));
    }
    map.push_str("\n## Published events\n\n| context | event types |\n|---|---|\n");
    for (context, types) in &published {
        let types: Vec<String> = types.iter().map(|t| format!("`{t}`")).collect();
        map.push_str(&format!("| {context} | {} |\n", types.join(", ")));
    }
    map
}

/// `governance/context-map.md` is what the code says today (`UPDATE_CONTEXT_MAP=1` rewrites
/// it), and every port a context declares is served by something.
#[test]
fn the_context_map_is_generated_from_the_code() {
    let root = workspace_root();
    let map = context_map(&root);
    let path = root.join(CONTEXT_MAP);
    if std::env::var_os("UPDATE_CONTEXT_MAP").is_some() {
        std::fs::write(&path, &map).expect("the context map is written");
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == map,
        "{CONTEXT_MAP} is not what the code says; regenerate it with \
         `UPDATE_CONTEXT_MAP=1 cargo test -p acceptance --test architecture context_map`"
    );
    assert!(
        !map.contains("nothing in the workspace"),
        "a declared port is served by nothing:\n{map}"
    );
}
