//! A small element tree over quick-xml, with line numbers.
//!
//! ossec.conf is not one XML document: it usually holds several `<ossec_config>`
//! roots, so the reader accepts any number of top-level elements. Entity and
//! character references are resolved; the text is also kept as written (`raw`)
//! for the one check that must see references (`aws_log_groups`).

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use crate::LoadError;

/// One element: its name, attributes, text and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    /// Attributes in order, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// 1-based line of the `<` that opens the element.
    pub line: u32,
    /// The element's own text (not its children's), references resolved, CDATA
    /// included, untrimmed.
    pub text: String,
    /// The same text with entity and character references kept as written.
    pub raw: String,
    pub children: Vec<Element>,
}

impl Element {
    fn new(start: &BytesStart<'_>, line: u32) -> Result<Element, LoadError> {
        let name = start.name().as_ref().to_owned();
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| LoadError::Xml {
                line,
                message: format!("bad attribute in <{name}>: {e}"),
            })?;
            let key = attr.key.as_ref().to_owned();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| LoadError::Xml {
                    line,
                    message: format!("bad value of attribute '{key}' in <{name}>: {e}"),
                })?;
            attrs.push((key, value.into_owned()));
        }
        Ok(Element {
            name,
            attrs,
            line,
            text: String::new(),
            raw: String::new(),
            children: Vec::new(),
        })
    }

    /// The value of attribute `name`, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Maps byte offsets to 1-based line numbers.
pub(crate) struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Lines {
        Lines {
            newlines: text
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    pub fn line_of(&self, offset: u64) -> u32 {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let before = self.newlines.partition_point(|&nl| nl < offset);
        u32::try_from(before + 1).unwrap_or(u32::MAX)
    }
}

/// How deep elements may nest. ossec.conf goes four levels deep; the tree is
/// dropped (and cloned, compared, printed) recursively, so a hostile file
/// nesting thousands of levels would overflow the stack without this bound.
const MAX_DEPTH: usize = 64;

/// Parses `text` into its top-level elements, in file order.
pub(crate) fn parse(text: &str) -> Result<Vec<Element>, LoadError> {
    let lines = Lines::new(text);
    let mut reader = Reader::from_str(text);
    {
        // Our own stack checks end tags, so the messages can name both tags
        // and the line where the open one started.
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
    }

    let mut roots: Vec<Element> = Vec::new();
    let mut stack: Vec<Element> = Vec::new();

    loop {
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                return Err(LoadError::Xml {
                    line: lines.line_of(reader.error_position()),
                    message: e.to_string(),
                });
            }
        };
        match event {
            Event::Start(start) => {
                let line = lines.line_of(at);
                if stack.len() >= MAX_DEPTH {
                    return Err(LoadError::Xml {
                        line,
                        message: format!(
                            "elements nested more than {MAX_DEPTH} levels deep (at <{}>): this is not an ossec.conf",
                            start.name().as_ref()
                        ),
                    });
                }
                stack.push(Element::new(&start, line)?);
            }
            Event::Empty(start) => {
                let element = Element::new(&start, lines.line_of(at))?;
                attach(&mut stack, &mut roots, element);
            }
            Event::End(end) => {
                let name = end.name().as_ref().to_owned();
                let line = lines.line_of(at);
                let Some(open) = stack.pop() else {
                    return Err(LoadError::Xml {
                        line,
                        message: format!("closing tag </{name}> has no matching open tag <{name}>"),
                    });
                };
                if open.name != name {
                    return Err(LoadError::Xml {
                        line,
                        message: format!(
                            "closing tag </{name}> does not match the open tag <{}> of line {}",
                            open.name, open.line
                        ),
                    });
                }
                attach(&mut stack, &mut roots, open);
            }
            Event::Text(text) => {
                if let Some(top) = stack.last_mut() {
                    let content = text.xml10_content();
                    top.text.push_str(&content);
                    top.raw.push_str(&content);
                }
            }
            Event::CData(cdata) => {
                if let Some(top) = stack.last_mut() {
                    let content = cdata.xml10_content();
                    top.text.push_str(&content);
                    top.raw.push_str(&content);
                }
            }
            Event::GeneralRef(reference) => {
                let line = lines.line_of(at);
                let resolved = resolve_reference(&reference, stack.last(), line)?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                    top.raw.push('&');
                    top.raw.push_str(&reference);
                    top.raw.push(';');
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }

    if let Some(open) = stack.last() {
        return Err(LoadError::Xml {
            line: open.line,
            message: format!(
                "the tag <{}> opened at line {} is never closed (</{}> not found before the end of the file)",
                open.name, open.line, open.name
            ),
        });
    }
    Ok(roots)
}

fn attach(stack: &mut [Element], roots: &mut Vec<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => roots.push(element),
    }
}

/// Resolves `&name;` or `&#N;`. The five predefined entities and character
/// references are known; anything else is malformed XML. Inside `<secret_key>`
/// the reference is not echoed: it is part of the secret.
fn resolve_reference(
    reference: &BytesRef<'_>,
    parent: Option<&Element>,
    line: u32,
) -> Result<String, LoadError> {
    let secret = parent.is_some_and(|p| p.name == "secret_key");
    let shown = |what: &str| {
        if secret {
            format!("{what} inside <secret_key> (not shown)")
        } else {
            format!("{what} '&{};'", &**reference)
        }
    };
    if reference.is_char_ref() {
        return match reference.resolve_char_ref() {
            Ok(Some(ch)) => Ok(ch.to_string()),
            Ok(None) | Err(_) => Err(LoadError::Xml {
                line,
                message: format!(
                    "{}: not a valid character number",
                    shown("invalid character reference")
                ),
            }),
        };
    }
    match quick_xml::escape::resolve_predefined_entity(reference) {
        Some(text) => Ok(text.to_owned()),
        None => Err(LoadError::Xml {
            line,
            message: format!(
                "{}: only &amp; &lt; &gt; &quot; &apos; and character references like &#38; are allowed",
                shown("unknown entity")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml_error(text: &str) -> (u32, String) {
        match parse(text) {
            Err(LoadError::Xml { line, message }) => (line, message),
            other => panic!("expected an XML error, got {other:?}"),
        }
    }

    #[test]
    fn several_roots_with_lines_text_and_attributes() {
        let text = "<?xml version=\"1.0\"?>\n<!-- c -->\n<a x=\"1\" y='&lt;2'>\n  <b>one</b>\n  <c/>\n</a>\n<a>\n<b>two</b></a>\n";
        let roots = parse(text).unwrap();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[0].name, "a");
        assert_eq!(roots[0].line, 3);
        assert_eq!(roots[0].attr("x"), Some("1"));
        assert_eq!(roots[0].attr("y"), Some("<2"));
        assert_eq!(roots[0].attr("z"), None);
        assert_eq!(roots[0].children.len(), 2);
        assert_eq!(roots[0].children[0].text, "one");
        assert_eq!(roots[0].children[0].line, 4);
        assert_eq!(roots[0].children[1].name, "c");
        assert_eq!(roots[0].children[1].line, 5);
        assert_eq!(roots[1].line, 7);
        assert_eq!(roots[1].children[0].text, "two");
        assert_eq!(roots[1].children[0].line, 8);
    }

    #[test]
    fn entities_char_refs_and_cdata_resolve_and_raw_keeps_references() {
        let roots =
            parse("<a>x&amp;y&lt;&gt;&quot;&apos;&#65;&#x42;<![CDATA[<&amp;>]]> </a>").unwrap();
        assert_eq!(roots[0].text, "x&y<>\"'AB<&amp;> ");
        assert_eq!(
            roots[0].raw,
            "x&amp;y&lt;&gt;&quot;&apos;&#65;&#x42;<&amp;> "
        );
    }

    #[test]
    fn crlf_line_endings_count_lines_and_normalise_text() {
        let roots = parse("<a>\r\n<b>v\r\nw</b>\r\n</a>").unwrap();
        assert_eq!(roots[0].children[0].line, 2);
        assert_eq!(roots[0].children[0].text, "v\nw");
    }

    #[test]
    fn mismatched_end_tag_names_both_tags_and_lines() {
        let (line, message) = xml_error("<a>\n<regions>us-east-1</region>\n</a>");
        assert_eq!(line, 2);
        assert_eq!(
            message,
            "closing tag </region> does not match the open tag <regions> of line 2"
        );
    }

    #[test]
    fn unclosed_tag_is_reported_at_its_line() {
        let (line, message) = xml_error("<a>\n  <service type=\"x\">\n</a>");
        assert_eq!(line, 3);
        assert!(
            message.contains("</a>") && message.contains("<service>"),
            "{message}"
        );
        let (line, message) = xml_error("<a>\n<b>\n</b>\n");
        assert_eq!(line, 1);
        assert!(
            message.contains("<a> opened at line 1 is never closed"),
            "{message}"
        );
    }

    #[test]
    fn stray_end_tag_is_an_error() {
        let (line, message) = xml_error("<a></a>\n</b>");
        assert_eq!(line, 2);
        assert!(message.contains("</b>"), "{message}");
    }

    #[test]
    fn unknown_entity_is_an_error_and_secret_is_not_echoed() {
        let (line, message) = xml_error("<a>\n<b>&nbsp;</b></a>");
        assert_eq!(line, 2);
        assert!(message.contains("unknown entity '&nbsp;'"), "{message}");
        let (_, message) = xml_error("<a><secret_key>ab&hunter2;cd</secret_key></a>");
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("<secret_key>"), "{message}");
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let (line, _) = xml_error("<a>\n<b>\n<c x=>\n</b></a>");
        assert_eq!(line, 3);
        let (line, _) = xml_error("<a>\n<!-- never closed\n");
        assert_eq!(line, 2);
        let (_, message) = xml_error("<a>a & b</a>");
        assert!(!message.is_empty());
    }

    #[test]
    fn line_of_offsets() {
        let lines = Lines::new("ab\ncd\n\nef");
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(2), 1);
        assert_eq!(lines.line_of(3), 2);
        assert_eq!(lines.line_of(6), 3);
        assert_eq!(lines.line_of(7), 4);
    }
}
