//! Black-box test of the `xml-check` example of `xmpp-proto`: runs it with
//! `cargo run` and checks its JSON lines and exit status.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use xmpp_proto::xml::Element;

/// Runs `cargo run -q -p xmpp-proto --example xml-check -- ARGS` with `input`
/// on standard input.
fn xml_check(args: &[&str], input: &str) -> Output {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut child = Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "xmpp-proto",
            "--example",
            "xml-check",
            "--",
        ])
        .args(args)
        .current_dir(workspace)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("cargo finishes")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A JSON string literal (the writer's XML holds no control characters).
fn json(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[test]
fn prints_header_stanzas_and_end() {
    let input = "<?xml version='1.0'?>\
        <stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
        to='example.com' version='1.0' xml:lang='en'>\n\
        <message to='juliet@example.com' type='chat'><body>hi &amp; \"bye\"</body></message>\n\
        <presence/>\n\
        </stream:stream>";
    let output = xml_check(&["--chunk", "3"], input);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");

    let message = Element::new("jabber:client", "message")
        .with_attr("to", "juliet@example.com")
        .with_attr("type", "chat")
        .with_child(Element::new("jabber:client", "body").with_text("hi & \"bye\""));
    let presence = Element::new("jabber:client", "presence");
    let expected = [
        r#"{"event":"header","ns":"http://etherx.jabber.org/streams","name":"stream","attrs":{"to":"example.com","version":"1.0","{http://www.w3.org/XML/1998/namespace}lang":"en"}}"#.to_owned(),
        format!(r#"{{"event":"element","xml":{}}}"#, json(&message.to_xml())),
        format!(r#"{{"event":"element","xml":{}}}"#, json(&presence.to_xml())),
        r#"{"event":"end"}"#.to_owned(),
    ];
    assert_eq!(stdout_lines(&output), expected);
}

#[test]
fn reports_doctype_and_exits_1() {
    let output = xml_check(&["--chunk", "3"], "<!DOCTYPE stream><stream/>");
    assert_eq!(
        stdout_lines(&output),
        [r#"{"event":"error","kind":"doctype","offset":0}"#]
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn bad_flag_exits_2_with_usage() {
    let output = xml_check(&["--chunk", "0"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: xml-check"));
    assert!(output.stdout.is_empty());
}
