//! A token command's words (`docs/reference.md` §14.3): the setting's text
//! split as a POSIX shell splits words, quotes included, with no
//! expansion. The command is then run without a shell, so what only a
//! shell would do (a pipe, a redirection, `$VAR`) is refused rather than
//! passed on as a word that means nothing to the command. Pure.

/// The words of `text`: blanks (space, tab, newline) outside quotes
/// separate them; `'…'` is literal; `"…"` is literal but for a backslash
/// before `"` `\` `$` `` ` `` or a newline; a backslash outside quotes keeps
/// the next character (a backslash and a newline are removed, a trailing
/// backslash is itself). An unterminated quote, or outside quotes one of
/// `| & ; < > ( ) $` and `` ` ``, is an error saying what to do.
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    // The word being read, if one has started (`''` starts an empty one).
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(unterminated('\'')),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => w.extend(['\\', c]),
                            None => return Err(unterminated('"')),
                        },
                        Some(c) => w.push(c),
                        None => return Err(unterminated('"')),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => word.get_or_insert_with(String::new).push('\\'),
            },
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' => return Err(shell_only(c)),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

fn unterminated(quote: char) -> String {
    format!("the command has a {quote} quote that is not closed; close it, or escape it with a backslash")
}

fn shell_only(c: char) -> String {
    format!(
        "the command has `{c}` outside quotes, which only a shell understands, and the token command is run without one; \
         quote it to pass it as it is, or run a shell: sh -c '…'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, want: &[&str]) {
        assert_eq!(
            split(text),
            Ok(want.iter().map(|w| w.to_string()).collect()),
            "{text:?}"
        );
    }

    #[test]
    fn words_are_split_as_a_shell_splits_them() {
        check("", &[]);
        check("  \t\n ", &[]);
        check(
            "buildkite-agent oidc request-token --audience sts.amazonaws.com",
            &[
                "buildkite-agent",
                "oidc",
                "request-token",
                "--audience",
                "sts.amazonaws.com",
            ],
        );
        check(
            r#"circleci run oidc get --claims '{"aud":"sts.amazonaws.com"}'"#,
            &[
                "circleci",
                "run",
                "oidc",
                "get",
                "--claims",
                r#"{"aud":"sts.amazonaws.com"}"#,
            ],
        );
        check(r#"a "b c" d"#, &["a", "b c", "d"]);
        check(r#"a"b"'c'd"#, &["abcd"]);
        check("'' \"\" x", &["", "", "x"]);
        // Single quotes keep everything, backslashes and `$` included.
        check(r#"'a\b $x "y"'"#, &[r#"a\b $x "y""#]);
        // Double quotes: a backslash escapes only " \ $ ` and a newline.
        check(r#""a\"b\\c\$d\`e\nf""#, &[r#"a"b\c$d`e\nf"#]);
        check("\"a\\\nb\"", &["ab"]);
        // Outside quotes a backslash keeps the next character.
        check(r"a\ b c", &["a b", "c"]);
        check(r"a\'b \$x \|", &["a'b", "$x", "|"]);
        check("a\\\nb", &["ab"]);
        check(r"a\", &[r"a\"]);
        // No expansion: globs and a tilde are words like any other.
        check("ls *.jwt ~/x", &["ls", "*.jwt", "~/x"]);
        // What a shell would run is quoted here, and so passed on.
        check(
            "sh -c 'cat /t | tr -d x'",
            &["sh", "-c", "cat /t | tr -d x"],
        );
    }

    #[test]
    fn an_unterminated_quote_or_a_shell_operator_is_refused() {
        let e = split("get --claims '{\"aud\":1}").unwrap_err();
        assert_eq!(
            e,
            "the command has a ' quote that is not closed; close it, or escape it with a backslash"
        );
        assert!(split("a \"b")
            .unwrap_err()
            .starts_with("the command has a \" quote"));
        assert!(split("a \"b\\")
            .unwrap_err()
            .starts_with("the command has a \" quote"));
        for text in [
            "cat /t | jq",
            "a; b",
            "a && b",
            "a > f",
            "a < f",
            "(a)",
            "echo $TOKEN",
            "echo `x`",
        ] {
            let e = split(text).unwrap_err();
            assert!(
                e.contains("outside quotes, which only a shell understands"),
                "{text}: {e}"
            );
        }
        assert!(split("cat /t | jq")
            .unwrap_err()
            .starts_with("the command has `|` outside quotes"));
    }
}
