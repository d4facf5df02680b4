//! A small JSON reader and writer: enough to read a JWT's claims and to
//! check that a session policy is JSON, and to quote strings in the json
//! and credential-process outputs. Pure, no crate.

/// A JSON value, only as much as a JWT payload needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true`/`false`
    Bool(bool),
    /// A number, as whole units (see `Parser::number`).
    Number(Option<i64>),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, in document order.
    Object(Vec<(String, Json)>),
}

/// How deep arrays and objects may nest; deeper input is refused rather
/// than risking the stack.
const MAX_DEPTH: usize = 32;

/// Parses a whole JSON document. `None` for anything that is not JSON.
pub fn parse(text: &str) -> Option<Json> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b" \t\r\n".contains(b)) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Some(Json::Object(fields));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return None;
                    }
                    fields.push((key, self.value(depth + 1)?));
                    self.ws();
                    if self.eat(b"}") {
                        return Some(Json::Object(fields));
                    }
                    if !self.eat(b",") {
                        return None;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b"]") {
                        return Some(Json::Array(items));
                    }
                    if !self.eat(b",") {
                        return None;
                    }
                }
            }
            b'"' => self.string().map(Json::String),
            b't' => self.eat(b"true").then_some(Json::Bool(true)),
            b'f' => self.eat(b"false").then_some(Json::Bool(false)),
            b'n' => self.eat(b"null").then_some(Json::Null),
            _ => self.number(),
        }
    }

    /// JSON number grammar, kept as whole seconds: the integer part, or
    /// `None` for a value with an exponent or out of range. Integers are
    /// all a JWT's `exp` needs, and float parsing would cost binary size.
    fn number(&mut self) -> Option<Json> {
        let digits = |p: &mut Self| {
            let start = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - start
        };
        let negative = self.eat(b"-");
        let start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s[start] == b'0') {
            return None;
        }
        let int = std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse::<i64>()
            .ok();
        if self.eat(b".") && digits(self) == 0 {
            return None;
        }
        let mut value = int.map(|v| if negative { -v } else { v });
        if self.eat(b"e") || self.eat(b"E") {
            let _ = self.eat(b"+") || self.eat(b"-");
            if digits(self) == 0 {
                return None;
            }
            value = None;
        }
        Some(Json::Number(value))
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat(b"\"") {
            return None;
        }
        let mut out = String::new();
        loop {
            let start = self.i;
            while self
                .s
                .get(self.i)
                .is_some_and(|b| *b != b'"' && *b != b'\\' && *b >= 0x20)
            {
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let c = *self.s.get(self.i)?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return None;
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                            } else {
                                char::from_u32(hi)?
                            };
                            out.push(c);
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        let v = u32::from_str_radix(text, 16).ok()?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.i += 4;
        Some(v)
    }
}

/// Quotes a string as a JSON string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_edges() {
        assert_eq!(
            parse(" {\"a\" : [true,false,null,-1.5e2,-15.5,\"x\\n\"] } "),
            Some(Json::Object(vec![(
                "a".into(),
                Json::Array(vec![
                    Json::Bool(true),
                    Json::Bool(false),
                    Json::Null,
                    Json::Number(None),
                    Json::Number(Some(-15)),
                    Json::String("x\n".into())
                ])
            )]))
        );
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert_eq!(parse(&deep), None);
        for bad in [
            "",
            "{",
            "{\"a\"}",
            "[1,]",
            "\"\\ud800\"",
            "\"\\u12\"",
            "01x",
            "01",
            "1.",
            "1e",
            "-",
            ".5",
            "tru",
            "{} x",
            "\"\u{1}\"",
            "\"\\u+123\"",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(quote("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        assert_eq!(
            parse(&quote("x\"\\\u{7}é")),
            Some(Json::String("x\"\\\u{7}é".into()))
        );
    }

    #[test]
    fn nesting_is_read_to_33_levels_of_arrays_or_objects() {
        let arrays = |n: usize| "[".repeat(n) + &"]".repeat(n);
        let objects = |n: usize| "{\"a\":".repeat(n - 1) + "{}" + &"}".repeat(n - 1);
        assert!(parse(&arrays(33)).is_some());
        assert_eq!(parse(&arrays(34)), None);
        assert!(parse(&objects(33)).is_some());
        assert_eq!(parse(&objects(34)), None);
    }

    #[test]
    fn quote_escapes_controls_and_not_the_space() {
        assert_eq!(quote(" \u{1f}~"), "\" \\u001f~\"");
    }

    #[test]
    fn an_exponent_is_read_with_either_letter() {
        assert_eq!(
            parse("[1e5,2E-3,3e+1]"),
            Some(Json::Array(vec![Json::Number(None); 3]))
        );
    }

    #[test]
    fn zero_and_every_short_escape() {
        // "0" alone is a number; only a leading zero before more digits is
        // refused ("01" above).
        assert_eq!(parse("0"), Some(Json::Number(Some(0))));
        assert_eq!(parse("-0"), Some(Json::Number(Some(0))));
        assert_eq!(
            parse(r#""\"\\\/\b\f\n\r\t""#),
            Some(Json::String("\"\\/\u{8}\u{c}\n\r\t".into()))
        );
    }
}
