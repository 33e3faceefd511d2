//! Reads the vendored W3C catalogs (`tests/xmlconf/xmlconf.xml` and the
//! sub-catalogs it pulls in as external entities) and selects the cases that
//! apply to an XML 1.0 (5th edition) + Namespaces 1.0 processor.

use std::path::{Path, PathBuf};

/// Sub-catalogs of the master catalog that hold only XML 1.1 / Namespaces 1.1
/// cases. They are not vendored; the test checks they are still declared so
/// this list cannot silently go stale.
pub const EXCLUDED_CATALOGS: &[&str] = &[
    "ibm/xml-1.1/ibm_invalid.xml",
    "ibm/xml-1.1/ibm_not-wf.xml",
    "ibm/xml-1.1/ibm_valid.xml",
    "eduni/xml-1.1/xml11.xml",
    "eduni/namespaces/1.1/rmt-ns11.xml",
];

/// The catalog's `TYPE` of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CaseType {
    /// Not well-formed: every processor must reject it.
    NotWf,
    /// Well-formed and valid.
    Valid,
    /// Well-formed but not valid (validity is not checked by us).
    Invalid,
    /// An optional error: processors may or may not report it.
    Error,
}

/// One selected test case.
#[derive(Debug)]
pub struct Case {
    /// The catalog `ID`.
    pub id: String,
    /// The catalog `TYPE`.
    pub ty: CaseType,
    /// The document, relative to the `xmlconf` directory.
    pub rel_path: String,
    /// The document's absolute path.
    pub path: PathBuf,
}

/// The vendored suite's directory.
pub fn xmlconf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("xmlconf")
}

/// Every selected case of every vendored sub-catalog, in catalog order.
pub fn load_cases() -> Vec<Case> {
    let root = xmlconf_dir();
    let master = std::fs::read_to_string(root.join("xmlconf.xml"))
        .unwrap_or_else(|e| panic!("cannot read {}/xmlconf.xml: {e}", root.display()));
    let catalogs = entity_systems(&master);
    for excluded in EXCLUDED_CATALOGS {
        assert!(
            catalogs.iter().any(|c| c == excluded),
            "excluded catalog {excluded} is no longer declared in xmlconf.xml"
        );
    }
    let mut cases = Vec::new();
    for catalog in catalogs
        .iter()
        .filter(|c| !EXCLUDED_CATALOGS.contains(&c.as_str()))
    {
        load_catalog(&root, catalog, &mut cases);
    }
    cases
}

/// The SYSTEM identifiers of the `<!ENTITY name SYSTEM "file">` declarations
/// of the master catalog, in order.
fn entity_systems(master: &str) -> Vec<String> {
    let mut out = Vec::new();
    for decl in master.split("<!ENTITY").skip(1) {
        let decl = decl.split('>').next().unwrap_or("");
        match decl.split_whitespace().collect::<Vec<_>>().as_slice() {
            [_name, "SYSTEM", system] => out.push(system.trim_matches('"').to_owned()),
            _ => panic!("unexpected entity declaration in xmlconf.xml: <!ENTITY{decl}>"),
        }
    }
    assert!(out.len() >= 20, "too few sub-catalogs declared: {out:?}");
    out
}

fn load_catalog(root: &Path, catalog: &str, cases: &mut Vec<Case>) {
    let file = root.join(catalog);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read catalog {}: {e}", file.display()));
    // A sub-catalog is an external parsed entity: drop its text declaration
    // and wrap it, since it may hold several top-level TESTCASES elements.
    let body = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, body)| body),
        None => text.as_str(),
    };
    let wrapped = format!("<CATALOG>{body}</CATALOG>");
    let doc = roxmltree::Document::parse(&wrapped)
        .unwrap_or_else(|e| panic!("catalog {catalog} does not parse: {e}"));
    // Test URIs are relative to the entity's own location (the xml:base in
    // xmlconf.xml is wrong for eduni/misc, and the entity's base wins anyway).
    let dir = Path::new(catalog).parent().unwrap_or(Path::new(""));
    for test in doc.descendants().filter(|n| n.has_tag_name("TEST")) {
        let attr = |name: &str| test.attribute(name);
        let id = attr("ID").expect("TEST without ID").to_owned();
        if !applies(test) {
            continue;
        }
        let ty = match attr("TYPE") {
            Some("not-wf") => CaseType::NotWf,
            Some("valid") => CaseType::Valid,
            Some("invalid") => CaseType::Invalid,
            Some("error") => CaseType::Error,
            other => panic!("{catalog}: case {id} has unknown TYPE {other:?}"),
        };
        let uri = attr("URI").unwrap_or_else(|| panic!("{catalog}: case {id} has no URI"));
        let rel = dir.join(uri);
        let rel_path = rel.to_string_lossy().replace('\\', "/");
        cases.push(Case {
            id,
            ty,
            path: root.join(&rel),
            rel_path,
        });
    }
}

/// Whether a case applies to an XML 1.0 5th edition, namespace-aware processor.
fn applies(test: roxmltree::Node) -> bool {
    let has = |attr: &str, pred: &dyn Fn(&str) -> bool| test.attribute(attr).is_none_or(pred);
    let version_ok = has("VERSION", &|v| v.split_whitespace().any(|v| v == "1.0"));
    let edition_ok = has("EDITION", &|e| e.split_whitespace().any(|e| e == "5"));
    let namespace_ok = test.attribute("NAMESPACE") != Some("no");
    let rec_ok = has("RECOMMENDATION", &|r| {
        matches!(r, "XML1.0" | "NS1.0")
            || r.starts_with("XML1.0-errata")
            || r.starts_with("NS1.0-errata")
    });
    version_ok && edition_ok && namespace_ok && rec_ok
}
