//! YAML parsing with error positions a custodian can fix a file by. Every YAML file
//! Lumen reads goes through `from_str`: scenarios, answer scripts, config.yaml,
//! themes, gateway_activation.yaml and observer_field.yaml.
//!
//! serde-saphyr (2.1 and 2.2 alike) deserializes while it parses, so a syntax error
//! further down often surfaces first as a schema error at the enclosing structure: a
//! mis-indented key on line 6 becomes "missing field `title`" at the mapping on line
//! 5, an unclosed `[` becomes "expected string scalar" where the list starts. So the
//! text is first run through the event parser serde-saphyr itself uses
//! (granit-parser), for syntax only: linear in the input, no alias is expanded, no
//! event is kept. Only a syntactically valid document is deserialized into its type;
//! schema errors then carry the node's own position (an unknown field: its key).
//!
//! One more correction: the scanner reports a TAB used for indentation at the start
//! of the scalar it was reading (often the line above), so a tab error is moved to
//! the tab itself, as PyYAML reports it.

use serde::de::DeserializeOwned;

/// A YAML error at 1-based `line:column` (characters, like PyYAML; 0:0 unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse `text` as one YAML document of type `T` (see the module notes).
pub fn from_str<T: DeserializeOwned>(
    text: &str,
    options: serde_saphyr::Options,
) -> Result<T, YamlError> {
    check_syntax(text)?;
    serde_saphyr::from_str_with_options::<T>(text, options).map_err(|e| error(&e))
}

/// The options serde-saphyr's `from_str` uses.
pub fn default_options() -> serde_saphyr::Options {
    serde_saphyr::Options::default()
}

/// Walk every parser event of `text`; the first syntax error, at its position.
pub fn check_syntax(text: &str) -> Result<(), YamlError> {
    let mut options = granit_parser::Options::default();
    options.emit_comments = false;
    for event in granit_parser::Parser::new_from_str_with_options(text, options) {
        if let Err(e) = event {
            let m = e.marker();
            let mut err = YamlError {
                line: m.line(),
                column: m.col() + 1,
                message: one_line(&e.info()),
            };
            if err.message.to_ascii_lowercase().contains("tab")
                && let Some((line, column)) = indent_tab(text, err.line.max(1))
            {
                err.line = line;
                err.column = column;
                err.message =
                    "a TAB character in the indentation; YAML indents with spaces only".into();
            }
            return Err(err);
        }
    }
    Ok(())
}

/// A schema (or syntax) error as serde-saphyr reports it, with a one-line message.
fn error(e: &serde_saphyr::Error) -> YamlError {
    let (line, column) = e
        .location()
        .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
    YamlError {
        line,
        column,
        message: message(e),
    }
}

/// The first tab in the indentation of a line at or after `from_line` (1-based):
/// its line and character column.
fn indent_tab(text: &str, from_line: usize) -> Option<(usize, usize)> {
    text.split('\n')
        .enumerate()
        .skip(from_line.saturating_sub(1))
        .find_map(|(i, line)| {
            let indent = line
                .char_indices()
                .take_while(|(_, c)| *c == ' ' || *c == '\t');
            indent
                .enumerate()
                .find(|(_, (_, c))| *c == '\t')
                .map(|(col, _)| (i + 1, col + 1))
        })
}

/// Several lines of library text as one line.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The library's message on one line, without the position (printed in front) and
/// with the Rust type names of scalar errors replaced by what to write.
fn message(e: &serde_saphyr::Error) -> String {
    let mut msg = one_line(&e.without_snippet().to_string());
    if let Some(i) = msg.rfind(" at line ")
        && msg.get(i..).is_some_and(|t| t.contains(", column "))
    {
        msg.truncate(i);
    }
    match msg.as_str() {
        "invalid floating point" => "not a number; expected a number such as 5 or 0.25".into(),
        "invalid i64" | "invalid u64" | "invalid i32" | "invalid u32" | "invalid u16"
        | "invalid u8" => "not a whole number; expected an integer such as 30".into(),
        "" => "invalid YAML".into(),
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Person {
        name: String,
        role: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        people: Vec<Person>,
    }

    fn pos(text: &str) -> (usize, usize, String) {
        let e = from_str::<Doc>(text, default_options()).unwrap_err();
        (e.line, e.column, e.message)
    }

    #[test]
    fn misindented_key_is_a_syntax_error_on_its_line() {
        // Without the syntax pass: "missing field `role`" at 4:5.
        let t = "people:\n  - name: a\n    role: x\n  - name: b\n   role: y\n";
        let (l, c, m) = pos(t);
        assert_eq!((l, c), (5, 4), "{m}");
    }

    #[test]
    fn tab_indentation_points_at_the_tab() {
        // The scanner blames the scalar `a` on line 2.
        let t = "people:\n  - name: a\n\trole: x\n";
        let (l, c, m) = pos(t);
        assert_eq!((l, c), (3, 1), "{m}");
        let t = "people:\n\t- name: a\n    role: x\n";
        let (l, c, m) = pos(t);
        assert_eq!((l, c), (2, 1));
        assert!(m.contains("TAB"), "{m}");
    }

    #[test]
    fn unknown_field_at_its_key() {
        let t = "people:\n  - name: a\n    rol: x\n";
        let (l, c, m) = pos(t);
        assert_eq!((l, c), (3, 5));
        assert!(m.starts_with("unknown field `rol`"), "{m}");
    }

    #[test]
    fn tabs_as_separation_stay_valid() {
        let d: Doc = from_str(
            "people:\n  - {name: a,\trole: x}\n  - name:\tb\n    role: y\n",
            default_options(),
        )
        .unwrap();
        assert_eq!(d.people.len(), 2);
    }
}
