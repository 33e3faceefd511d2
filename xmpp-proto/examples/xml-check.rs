//! Checks an XML stream with `xmpp_proto::xml::StreamReader`.
//!
//! Reads all of standard input, feeds it to the reader in `N`-byte chunks
//! (`--chunk N`; default: all at once), calls `finish()`, and prints one JSON
//! line per event:
//!
//! ```text
//! {"event":"header","ns":"jabber:client","name":"stream","attrs":{"to":"example.com"}}
//! {"event":"element","xml":"<message xmlns=\"jabber:client\"/>"}
//! {"event":"end"}
//! {"event":"error","kind":"doctype","offset":0}
//! ```
//!
//! Header attributes are keyed by local name, or `{namespace}local` for
//! namespaced ones; `xml` is the writer's standalone form (`Element::to_xml`).
//! Exit status: 0 when no error occurred, 1 otherwise, 2 for bad arguments.
//!
//! ```text
//! cargo run -p xmpp-proto --example xml-check -- [--chunk N] < stream.xml
//! ```

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use xmpp_proto::xml::{Element, StreamEvent, StreamReader};

const USAGE: &str = "usage: xml-check [--chunk N] < stream.xml
  Feeds standard input to the XMPP XML stream reader in N-byte chunks
  (default: all at once) and prints one JSON line per event.
  Exit status: 0 no error, 1 error in the stream, 2 bad arguments.";

fn main() -> ExitCode {
    let chunk = match parse_args(std::env::args().skip(1)) {
        Ok(Some(chunk)) => chunk,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("xml-check: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut input = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut input) {
        eprintln!("xml-check: cannot read standard input: {e}");
        return ExitCode::FAILURE;
    }
    match check(&input, chunk, &mut BufWriter::new(io::stdout().lock())) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xml-check: cannot write standard output: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The chunk size from the arguments (`None` for `--help`).
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<usize>, String> {
    let mut chunk = usize::MAX;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--chunk" => {
                let value = args.next().ok_or("--chunk needs a value")?;
                chunk = match value.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--chunk wants a positive integer, not {value:?}")),
                };
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Some(chunk))
}

/// Runs the reader over `input`, printing events; true when no error occurred.
fn check(input: &[u8], chunk: usize, out: &mut impl Write) -> io::Result<bool> {
    let mut reader = StreamReader::new(Default::default());
    for piece in input.chunks(chunk) {
        reader.feed(piece);
        if !print_events(&mut reader, out)? {
            return out.flush().map(|()| false);
        }
    }
    reader.finish();
    let ok = print_events(&mut reader, out)?;
    out.flush()?;
    Ok(ok)
}

/// Prints the events available now; false once an error was printed.
fn print_events(reader: &mut StreamReader, out: &mut impl Write) -> io::Result<bool> {
    while let Some(event) = reader.next_event() {
        let line = match event {
            Ok(StreamEvent::Header(header)) => header_json(&header),
            Ok(StreamEvent::Element(element)) => {
                format!(
                    r#"{{"event":"element","xml":{}}}"#,
                    json_str(&element.to_xml())
                )
            }
            Ok(StreamEvent::End) => r#"{"event":"end"}"#.to_owned(),
            Err(e) => {
                let kind = json_str(e.kind.as_str());
                writeln!(
                    out,
                    r#"{{"event":"error","kind":{kind},"offset":{}}}"#,
                    e.offset
                )?;
                return Ok(false);
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(true)
}

fn header_json(header: &Element) -> String {
    let attrs: Vec<String> = header
        .attrs()
        .iter()
        .map(|attr| {
            let key = if attr.name.ns.is_empty() {
                attr.name.local.to_string()
            } else {
                format!("{{{}}}{}", attr.name.ns, attr.name.local)
            };
            format!("{}:{}", json_str(&key), json_str(&attr.value))
        })
        .collect();
    format!(
        r#"{{"event":"header","ns":{},"name":{},"attrs":{{{}}}}}"#,
        json_str(header.ns()),
        json_str(header.local_name()),
        attrs.join(",")
    )
}

/// `s` as a JSON string literal (quotes included).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
