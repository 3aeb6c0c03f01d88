//! Diagnostics: problems found in a config, carried as data (file, line, column, resource, hint) and
//! rendered by the CLI. Validation collects all of them before reporting.

use serde::Serialize;
use std::ops::Range;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// A config file's text with a line index, shared by every diagnostic that points into it.
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
    /// Where the text holds sensitive values: never shown in a snippet.
    masks: std::sync::Mutex<Vec<Span>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Arc::new(SourceFile {
            masks: std::sync::Mutex::new(vec![]),
            name: name.into(),
            text,
            line_starts,
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// Marks a sensitive value's place: snippets show it as `*`.
    pub fn mask(&self, span: Span) {
        self.masks.lock().expect("masks").push(span);
    }

    /// The text as snippets may show it: sensitive values replaced by `*`, byte for byte (so every
    /// span still points where it did).
    pub fn shown_text(&self) -> String {
        let mut bytes = self.text.clone().into_bytes();
        // Characters that would reorder or hide the snippet on a terminal: `?`, byte for byte.
        for (i, c) in self.text.char_indices() {
            if (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_bidi(c) {
                for b in bytes.iter_mut().skip(i).take(c.len_utf8()) {
                    *b = b'?';
                }
            }
        }
        for span in self.masks.lock().expect("masks").iter() {
            for b in bytes
                .iter_mut()
                .take(span.end.min(self.text.len()))
                .skip(span.start)
            {
                *b = b'*';
            }
        }
        String::from_utf8(bytes).unwrap_or_default()
    }

    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// A byte range in a source file.
pub type Span = Range<usize>;

/// Characters that reorder or hide text on a terminal (bidirectional overrides and isolates, marks).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Text from a config, made safe to print: control characters (but newlines and tabs) and
/// bidirectional overrides shown escaped (`\u{202e}`), never passed to the terminal nor dropped; and
/// any run of over 100 characters without a space cut to its start and its length, so a megabyte-long
/// name is not echoed back a megabyte at a time.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4096));
    for word in text.split_inclusive(char::is_whitespace) {
        let (body, space) = match word.char_indices().last() {
            Some((i, c)) if c.is_whitespace() => (&word[..i], &word[i..]),
            _ => (word, ""),
        };
        let chars = body.chars().count();
        let kept: String = if chars > 100 {
            body.chars().take(60).collect()
        } else {
            body.to_string()
        };
        for c in kept.chars() {
            if (c.is_control() && c != '\n' && c != '\t') || is_bidi(c) {
                out.push_str(&c.escape_unicode().to_string());
            } else {
                out.push(c);
            }
        }
        if chars > 100 {
            out.push_str(&format!("…({} bytes)", body.len()));
        }
        out.push_str(space);
    }
    out
}

#[derive(Clone, Debug, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub source: Arc<SourceFile>,
}

impl Location {
    pub fn new(source: &Arc<SourceFile>, span: Span) -> Location {
        let (line, column) = source.line_col(span.start);
        Location {
            file: source.name.clone(),
            line,
            column,
            span,
            source: source.clone(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where in the config, when the problem has a place there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The resource concerned, when there is one (`subnet.main_private_a`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A short label shown under the source span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What the user can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Edits that fix it, in the config's own vocabulary: the first, then alternatives. Each is
    /// proven by the corpus tests that apply it (`crate::fix::apply`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<crate::fix::Fix>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: shown(&message.into()),
            location: None,
            resource: None,
            label: None,
            hint: None,
            fixes: vec![],
        }
    }

    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    // Builders take `&mut self` so they chain both on a fresh diagnostic (end with `.clone()` to keep
    // it) and on one already pushed into a list.
    pub fn at(&mut self, location: Option<Location>) -> &mut Self {
        self.location = location;
        self
    }

    pub fn resource(&mut self, addr: impl ToString) -> &mut Self {
        self.resource = Some(addr.to_string());
        self
    }

    pub fn label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(shown(&label.into()));
        self
    }

    pub fn hint(&mut self, hint: impl Into<String>) -> &mut Self {
        self.hint = Some(shown(&hint.into()));
        self
    }

    /// A fix (or, called again, an alternative to the fixes before it).
    pub fn fix(&mut self, fix: crate::fix::Fix) -> &mut Self {
        if !self.fixes.contains(&fix) {
            self.fixes.push(fix);
        }
        self
    }

    /// The hint and the fixes, as one text to show.
    pub fn help(&self) -> Option<String> {
        let fixes = crate::fix::hint(&self.fixes).map(|f| format!("fix: {f}"));
        match (fixes, &self.hint) {
            (Some(f), Some(h)) => Some(format!("{f}\n{h}")),
            (Some(f), None) => Some(f),
            (None, h) => h.clone(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    /// One-line form: `file:line:col: error: message [resource]` — used in logs and tests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        write!(f, "{sev}: {}", self.message)?;
        if let (Some(r), None) = (&self.resource, &self.location) {
            write!(f, " [{r}]")?;
        }
        if let Some(h) = self.help() {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// A list of diagnostics that is an error when any of them is.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }
    /// Source order, errors of one place together.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| {
            (
                d.location
                    .as_ref()
                    .map(|l| l.span.start)
                    .unwrap_or(usize::MAX),
                d.message.clone(),
            )
        });
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_config_is_shown_escaped_and_cut() {
        assert_eq!(
            shown("key `a\u{202E}b` and \u{7}"),
            "key `a\\u{202e}b` and \\u{7}"
        );
        assert_eq!(shown("two\nlines\tand tabs"), "two\nlines\tand tabs");
        let long = "x".repeat(1_000_000);
        let out = shown(&format!("name `{long}` is not valid"));
        assert!(out.len() < 200, "{}", out.len());
        assert!(out.contains("…(1000002 bytes)"), "{out}");
    }

    #[test]
    fn line_col_counts_from_one() {
        let s = SourceFile::new("a.toml", "ab\ncdé\nx");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(7), (2, 4));
        assert_eq!(s.line_text(2), "cdé");
    }
}
