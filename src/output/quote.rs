//! Quoting, each by the rules of the reader it is for (`docs/reference.md`
//! §6.3, §16.5): POSIX sh, fish and PowerShell for the shell formats, and
//! a `credential_process` command line as botocore splits it (`shlex`,
//! POSIX) and the other SDKs run it (`sh -c`; on Windows `cmd.exe /C`,
//! whose program splits it as Microsoft's C runtime does). Every value
//! written is held to STS's alphabets first ([`super::check_value`]), so
//! none of these ever meets a quote or a newline from STS; they are
//! whole anyway, and tested with the characters each shell treats
//! specially.

/// POSIX sh: in single quotes nothing is special but `'`, which ends
/// them: it is written `'\''`.
pub fn sh(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// fish: in single quotes only `\` and `'` are special, each escaped with
/// a `\` (a newline or `$` stays as it is).
pub fn fish(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell: in single quotes nothing is special but a quote, written
/// twice; PowerShell also ends a single-quoted string at the typographic
/// quotes U+2018-U+201B, so those are doubled too.
pub fn powershell(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Whether a word goes into a command line bare: every reader splits it
/// as one word and changes nothing in it.
fn bare(word: &str, windows: bool) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=,@+".contains(c) || (windows && c == '\\'))
}

/// A command line from its words, for `credential_process`: each word bare
/// when it can be, else quoted, by POSIX rules ([`sh`]; botocore's `shlex`
/// and `sh -c` read them alike) or on Windows in double quotes with the
/// backslashes before the closing quote doubled (the C runtime's rule).
/// Refused, naming the word's position: a control character (an ini value
/// is one line), `#` or `;` (some SDKs end a config value at them), and
/// on Windows `"` and `%` (cmd.exe expands `%NAME%` even in quotes).
pub fn command_line(words: &[String], windows: bool) -> Result<String, String> {
    let mut line = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let bad = w.chars().find(|c| {
            c.is_control() || *c == '#' || *c == ';' || (windows && (*c == '"' || *c == '%'))
        });
        if let Some(c) = bad {
            return Err(format!(
                "word {} of the command holds {}, which a config file or the command's shell would change",
                i + 1,
                match c {
                    c if c.is_control() => format!("control character U+{:04X}", c as u32),
                    c => format!("`{c}`"),
                }
            ));
        }
        line.push(match (bare(w, windows), windows) {
            (true, _) => w.clone(),
            (false, false) => sh(w),
            (false, true) => {
                let trailing = w.len() - w.trim_end_matches('\\').len();
                format!("\"{w}{}\"", "\\".repeat(trailing))
            }
        });
    }
    Ok(line.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values with every character the shells treat specially.
    const HARD: [&str; 6] = [
        "it's",
        r"back\slash",
        "$HOME $(id) `id`",
        "two\nlines",
        "",
        r"\'",
    ];

    /// Each shell's quoting of [`HARD`], in order: sh quotes only the
    /// quote, fish escapes backslash and quote, PowerShell doubles quotes.
    #[test]
    fn each_shell_quotes_by_its_own_rules() {
        type Quote = fn(&str) -> String;
        let rows: [(Quote, [&str; 6]); 3] = [
            (
                sh,
                [
                    r"'it'\''s'",
                    r"'back\slash'",
                    "'$HOME $(id) `id`'",
                    "'two\nlines'",
                    "''",
                    r"'\'\'''",
                ],
            ),
            (
                fish,
                [
                    r"'it\'s'",
                    r"'back\\slash'",
                    "'$HOME $(id) `id`'",
                    "'two\nlines'",
                    "''",
                    r"'\\\''",
                ],
            ),
            (
                powershell,
                [
                    "'it''s'",
                    r"'back\slash'",
                    "'$HOME $(id) `id`'",
                    "'two\nlines'",
                    "''",
                    r"'\'''",
                ],
            ),
        ];
        for (quote, want) in rows {
            for (v, w) in HARD.iter().zip(want) {
                assert_eq!(quote(v), w, "{v:?}");
            }
        }
        assert_eq!(powershell("a\u{2019}b"), "'a\u{2019}\u{2019}b'");
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn posix_command_lines() {
        let line = command_line(
            &words(&[
                "/opt/my tools/aws-oidc",
                "--role-arn",
                "arn:aws:iam::1:role/a",
                "--x",
                "it's",
                "$HOME",
                r"a\b",
                "",
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            line,
            r"'/opt/my tools/aws-oidc' --role-arn arn:aws:iam::1:role/a --x 'it'\''s' '$HOME' 'a\b' ''"
        );
        for bad in ["two\nlines", "a#b", "a;b", "tab\there"] {
            let e = command_line(&words(&["x", bad]), false).unwrap_err();
            assert!(e.starts_with("word 2 of the command holds "), "{e}");
        }
    }

    #[test]
    fn windows_command_lines() {
        let line = command_line(
            &words(&[
                r"C:\Program Files\aws-oidc.exe",
                r"C:\t\token",
                r"C:\dir with space\",
                "it's",
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            line,
            r#""C:\Program Files\aws-oidc.exe" C:\t\token "C:\dir with space\\" "it's""#
        );
        for bad in ["a\"b", "%USERPROFILE%", "x\ny"] {
            assert!(command_line(&words(&[bad]), true).is_err(), "{bad}");
        }
        // `$` means nothing to cmd.exe, and is quoted only on POSIX.
        assert_eq!(command_line(&words(&["$x"]), true).unwrap(), "\"$x\"");
    }
}
