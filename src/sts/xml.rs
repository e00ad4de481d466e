//! STS's XML, written as AWS writes it: two-space indent, a trailing newline, no declaration.

use std::fmt::Write as _;

/// The namespace of every STS response.
pub(crate) const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A nested element writer.
pub(crate) struct Xml {
    out: String,
    open: Vec<&'static str>,
}

impl Xml {
    /// A document whose root element is `root` in STS's namespace.
    pub(crate) fn new(root: &'static str) -> Xml {
        let mut out = String::with_capacity(1024);
        let _ = writeln!(out, "<{root} xmlns=\"{NAMESPACE}\">");
        Xml {
            out,
            open: vec![root],
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Opens a child element.
    pub(crate) fn open(&mut self, name: &'static str) -> &mut Xml {
        self.indent();
        let _ = writeln!(self.out, "<{name}>");
        self.open.push(name);
        self
    }

    /// Closes the innermost element.
    pub(crate) fn close(&mut self) -> &mut Xml {
        if let Some(name) = self.open.pop() {
            self.indent();
            let _ = writeln!(self.out, "</{name}>");
        }
        self
    }

    /// A leaf element with escaped text.
    pub(crate) fn leaf(&mut self, name: &'static str, text: &str) -> &mut Xml {
        self.indent();
        let _ = write!(self.out, "<{name}>");
        escape_into(&mut self.out, text);
        let _ = writeln!(self.out, "</{name}>");
        self
    }

    /// The document, every element closed.
    pub(crate) fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

/// Escapes markup, and keeps the document well-formed whatever the text: a carriage return is
/// written as a reference (a parser would turn a raw one into a newline), and characters XML 1.0
/// cannot hold at all (C0 controls but tab and newline, U+FFFE, U+FFFF) become U+FFFD. An
/// echoed claim or policy therefore never breaks the client's parser.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// `ErrorResponse` for `code` with `message`.
pub(crate) fn error(sender: bool, code: &str, message: &str, request_id: &str) -> String {
    let mut xml = Xml::new("ErrorResponse");
    xml.open("Error")
        .leaf("Type", if sender { "Sender" } else { "Receiver" })
        .leaf("Code", code)
        .leaf("Message", message)
        .close()
        .leaf("RequestId", request_id);
    xml.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_closes_everything() {
        let mut xml = Xml::new("R");
        xml.open("A").leaf("B", "a<b & 'c' \"d\">");
        assert_eq!(
            xml.finish(),
            "<R xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <A>\n    <B>a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt;</B>\n  </A>\n</R>\n"
        );
    }
}
