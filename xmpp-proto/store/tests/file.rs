//! The file: owner-only from its creation (and its WAL and shared-memory
//! files), tightened when found looser; no password column in the
//! schema; another program's database or a newer schema refused.

use std::path::Path;

use xmpp_proto::roster::{RosterEvent, RosterItem};
use xmpp_proto::Event;
use xmpp_store::{Store, StoreError};

fn write_something(store: &mut Store) {
    let account = "juliet@example.com".parse().expect("jid");
    let loaded = Event::Roster(RosterEvent::Loaded {
        ver: Some("v1".into()),
        items: vec![RosterItem::new("romeo@montague.lit".parse().expect("jid"))],
    });
    store.apply(&account, &loaded).expect("apply");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn side(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

#[cfg(unix)]
#[test]
fn the_file_and_its_wal_are_owner_only_where_the_umask_allows_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let mut store = Store::open(&path).expect("open");
    write_something(&mut store);
    assert_eq!(mode(&path), 0o600);
    // WAL mode: SQLite made these, with the database's mode.
    for suffix in ["-wal", "-shm"] {
        let p = side(&path, suffix);
        assert!(p.exists(), "{} exists while the store is open", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[cfg(unix)]
#[test]
fn a_file_readable_by_others_is_tightened_to_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    drop(Store::open(&path).expect("create"));
    for p in [path.clone(), side(&path, "-wal")] {
        if !p.exists() {
            std::fs::write(&p, b"").expect("create the side file");
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let mut store = Store::open(&path).expect("reopen");
    write_something(&mut store);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&side(&path, "-wal")), 0o600);
}

#[test]
fn no_column_holds_a_password_but_the_salted_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    drop(Store::open(&path).expect("create"));
    let conn = rusqlite::Connection::open(&path).expect("open with sqlite");
    let mut stmt = conn
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
        .expect("schema");
    let schema: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let schema = schema.join("\n").to_lowercase();
    assert!(schema.contains("create table message"), "{schema}");
    let mentions: Vec<&str> = schema
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.contains("password") || w.contains("passwd") || w.contains("secret"))
        .collect();
    assert_eq!(mentions, ["salted_password"], "{schema}");
}

#[test]
fn another_programs_database_and_a_newer_schema_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .expect("create")
        .execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');")
        .expect("fill");
    let err = Store::open(&foreign).expect_err("not a store");
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err}");
    // Untouched.
    let n: i64 = rusqlite::Connection::open(&foreign)
        .expect("open")
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 1);

    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer).expect("create"));
    rusqlite::Connection::open(&newer)
        .expect("open")
        .execute_batch("PRAGMA user_version = 99")
        .expect("bump");
    let err = Store::open(&newer).expect_err("newer");
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 99,
                supported: 1
            }
        ),
        "{err}"
    );

    let text = dir.path().join("text.db");
    std::fs::write(
        &text,
        "not a database at all, just some text that is long enough",
    )
    .expect("write");
    let err = Store::open(&text).expect_err("not sqlite");
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err}");
    assert!(err.to_string().contains("move the file away"), "{err}");

    let err = Store::open(dir.path()).expect_err("a directory");
    assert!(
        matches!(err, StoreError::File { .. } | StoreError::NotAFile { .. }),
        "{err}"
    );
}

#[test]
fn a_forgotten_key_leaves_no_copy_in_the_file() {
    use xmpp_proto::sasl::{ScramHash, ScramKeys};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let account = "juliet@example.com".parse().expect("jid");
    // A salted password that cannot occur by chance in the file.
    let salted: Vec<u8> = b"0123456789abcdefSALTEDPASSWORD!!".to_vec();
    let keys = ScramKeys {
        mechanism_hash: ScramHash::Sha256,
        salt: b"salt".to_vec(),
        iterations: 4096,
        salted_password: salted.clone(),
    };
    let contains = |hay: &[u8]| hay.windows(salted.len()).any(|w| w == salted.as_slice());
    {
        let mut store = Store::open(&path).expect("open");
        write_something(&mut store);
        store.set_scram_keys(&account, Some(&keys)).expect("keys");
    }
    // Closed: the WAL was checkpointed into the file.
    assert!(
        contains(&std::fs::read(&path).expect("read")),
        "the key is stored"
    );
    {
        let mut store = Store::open(&path).expect("open");
        store.set_scram_keys(&account, None).expect("forget");
    }
    assert!(!side(&path, "-wal").exists(), "checkpointed at close");
    assert!(
        !contains(&std::fs::read(&path).expect("read")),
        "a deleted key is overwritten (secure_delete)"
    );
}
