//! The Harness spellings of a setting's `PLUGIN_` names, worked out at
//! compile time for the `def!` table (`docs/reference.md` §1.2): each
//! snake-case name (`PLUGIN_MASK_ACCOUNT_ID`) and its words joined
//! (`PLUGIN_MASKACCOUNTID`), as Harness upper-cases a camelCase key.

const PREFIX: &[u8] = b"PLUGIN_";

/// Whether two byte strings are equal (`==` is not `const`).
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() && a[i] == b[i] {
        i += 1;
    }
    i == a.len()
}

/// Whether `name` is a `PLUGIN_` name.
const fn is_plugin(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > PREFIX.len() && same(b.split_at(PREFIX.len()).0, PREFIX)
}

/// The length of `name` without the underscores after `PLUGIN_`; a name
/// without that prefix stops the build.
pub(crate) const fn joined_len(name: &str) -> usize {
    assert!(is_plugin(name), "plugin [..] holds PLUGIN_ names");
    let b = name.as_bytes();
    let (mut i, mut n) = (PREFIX.len(), PREFIX.len());
    while i < b.len() {
        n += (b[i] != b'_') as usize;
        i += 1;
    }
    n
}

/// `name` without the underscores after `PLUGIN_`.
pub(crate) const fn joined_bytes<const N: usize>(name: &str) -> [u8; N] {
    let b = name.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if i < PREFIX.len() || b[i] != b'_' {
            out[n] = b[i];
            n += 1;
        }
        i += 1;
    }
    out
}

/// Whether the joined spelling `joined[i]` adds a name: a one-word name
/// (`PLUGIN_REGION`) is its own joined spelling, and two names could join
/// alike.
const fn adds(plugin: &[&str], joined: &[&str], i: usize) -> bool {
    let name = joined[i].as_bytes();
    let mut j = 0;
    while j < plugin.len() + i {
        let other = match j < plugin.len() {
            true => plugin[j],
            false => joined[j - plugin.len()],
        };
        if same(name, other.as_bytes()) {
            return false;
        }
        j += 1;
    }
    true
}

/// How many names [`spellings`] gives.
pub(crate) const fn spellings_len(plugin: &[&str], joined: &[&str], also: &[&str]) -> usize {
    let mut n = plugin.len() + also.len();
    let mut i = 0;
    while i < joined.len() {
        n += adds(plugin, joined, i) as usize;
        i += 1;
    }
    n
}

/// Every env name of a setting, in the order they are read: the `PLUGIN_`
/// names as the table writes them, then their joined spellings (those that
/// differ), then the others, none of which may be a `PLUGIN_` name.
pub(crate) const fn spellings<const N: usize>(
    plugin: &[&'static str],
    joined: &[&'static str],
    also: &[&'static str],
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut n = 0;
    let mut i = 0;
    while i < plugin.len() + joined.len() + also.len() {
        let (name, keep) = match i {
            i if i < plugin.len() => (plugin[i], true),
            i if i < plugin.len() + joined.len() => {
                let j = i - plugin.len();
                (joined[j], adds(plugin, joined, j))
            }
            i => (also[i - plugin.len() - joined.len()], true),
        };
        assert!(
            i < plugin.len() + joined.len() || !is_plugin(name),
            "PLUGIN_ names go in plugin [..]"
        );
        if keep {
            out[n] = name;
            n += 1;
        }
        i += 1;
    }
    out
}
