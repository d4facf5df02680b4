//! The documentation as a reader meets it: README is a front door of one
//! screen, its examples are the guides' tested ones, and every relative
//! link in README, CONTRIBUTING and docs/ leads somewhere. The guides'
//! examples themselves are run by the modules that test what they do
//! (`cli`, `trust`, `profiles`), through [`doc_block`].

use std::path::Path;

/// The text of `file`, a path from the repository's root.
pub(crate) fn doc_text(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The section of `file` under the heading line `heading`, up to the next
/// `##`/`###` heading (a `#` inside a block is a comment).
pub(crate) fn doc_section(file: &str, heading: &str) -> String {
    let text = doc_text(file);
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("{file} has no {heading}"));
    let section = &text[start + heading.len() + 2..];
    section[..section.find("\n##").unwrap_or(section.len())].to_string()
}

/// The `n`th fenced block of language `lang` in `file`'s section
/// `heading`: the tests run the documentation's own text, so the examples
/// cannot drift from what is tested.
pub(crate) fn doc_block(file: &str, heading: &str, lang: &str, n: usize) -> String {
    let section = doc_section(file, heading);
    let fence = format!("```{lang}\n");
    let block = section
        .split(&fence)
        .nth(n + 1)
        .unwrap_or_else(|| panic!("{file} {heading} has no {lang} block {n}"));
    block[..block.find("```").unwrap()].to_string()
}

/// The guides, whose examples the other modules run.
const GUIDES: [&str; 3] = [
    "docs/harness.md",
    "docs/other-ci.md",
    "docs/cross-account.md",
];

/// Every page that links to others: README, CONTRIBUTING, ARCHITECTURE
/// and each page of docs/.
fn pages() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages: Vec<String> = ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md"]
        .map(String::from)
        .to_vec();
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            pages.push(format!("docs/{name}"));
        }
    }
    pages.sort();
    pages
}

/// The fenced blocks of `text`, each with its fences, as a reader copies
/// it.
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("\n```") {
        let open = &rest[start + 1..];
        let body = open.find('\n').unwrap() + 1;
        let close = body + open[body..].find("\n```").expect("a block is closed") + 4;
        blocks.push(open[..close].to_string());
        rest = &open[close..];
    }
    blocks
}

#[test]
fn readme_is_one_screen_of_at_most_400_lines() {
    let lines = doc_text("README.md").lines().count();
    assert!(
        lines <= 400,
        "README.md has {lines} lines: move the detail to a guide in docs/"
    );
}

/// README's examples are the guides' tested ones, character for
/// character; only Install's commands (verify, load, download) are its
/// own.
#[test]
fn readme_examples_are_the_guides_tested_blocks() {
    let readme = doc_text("README.md");
    let usage = readme.split("\n## Install\n").next().unwrap().to_string()
        + &readme[readme.find("\n## Use\n").expect("README has ## Use")..];
    let guides: Vec<String> = GUIDES.iter().map(|g| doc_text(g)).collect();
    let examples = fenced_blocks(&usage);
    assert!(examples.len() >= 9, "{examples:?}");
    for example in examples {
        assert!(
            guides.iter().any(|g| g.contains(&format!("\n{example}"))),
            "README shows a block no guide has (so no test runs it):\n{example}"
        );
    }
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, every other
/// character but letters, digits, `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of `file`'s headings (outside fenced blocks, where `#` is a
/// comment).
fn anchors(file: &str) -> Vec<String> {
    let mut inside = false;
    let mut found = Vec::new();
    for line in doc_text(file).lines() {
        if line.starts_with("```") {
            inside = !inside;
        } else if !inside && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// The targets of `text`'s Markdown links, `](TARGET)`.
fn link_targets(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .collect()
}

#[test]
fn the_anchor_rule_is_githubs() {
    assert_eq!(anchor(" 15 `--trust-policy`"), "15---trust-policy");
    assert_eq!(
        anchor(" 16 Profiles, several roles, name prefixes"),
        "16-profiles-several-roles-name-prefixes"
    );
    assert_eq!(
        anchor(" Chaining in `~/.aws/config`"),
        "chaining-in-awsconfig"
    );
}

/// Every relative link in README, CONTRIBUTING, ARCHITECTURE and docs/
/// names a file that exists, and its `#anchor`, if any, a heading of that
/// file.
#[test]
fn every_relative_link_in_the_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for page in pages() {
        let text = doc_text(&page);
        let dir = Path::new(&page).parent().unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = if file.is_empty() {
                page.clone()
            } else {
                let joined = dir.join(file);
                let path = root.join(&joined);
                assert!(path.exists(), "{page} links to {target}: no such file");
                let canonical = path.canonicalize().unwrap();
                let relative = canonical
                    .strip_prefix(root.canonicalize().unwrap())
                    .unwrap_or_else(|_| panic!("{page} links to {target}, outside the repository"));
                relative.to_string_lossy().into_owned()
            };
            if !fragment.is_empty() {
                assert!(
                    file.ends_with(".md"),
                    "{page} links to {target}: an anchor into a file that is not Markdown"
                );
                assert!(
                    anchors(&file).iter().any(|a| a == fragment),
                    "{page} links to {target}: {file} has no heading whose anchor is #{fragment}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}
