//! Every kind of state goes in as the core's events and comes back out of
//! `load` ready for the core's constructors, in memory and across a
//! reopen of the file: roster and version (loads, pushes, removals,
//! "unchanged"), SCRAM keys, caps, vCards and avatars, the archive cursor,
//! resumption data; accounts kept apart; caches bounded; nothing secret in
//! `Debug`.

mod common;

use common::account;
use xmpp_proto::avatar::AvatarImage;
use xmpp_proto::disco::{
    verification_string, Caps, CapsHash, DataForm, DiscoEvent, DiscoInfo, FormField, Identity,
};
use xmpp_proto::roster::{Roster, RosterChange, RosterEvent, RosterItem, Subscription};
use xmpp_proto::sasl::{ScramHash, ScramKeys};
use xmpp_proto::stanza::BareJid;
use xmpp_proto::vcard::{Email, Photo, VCard, VCardAvatar, VCardEvent};
use xmpp_proto::Event;
use xmpp_store::{Applied, Store, StoreLimits, Stored};

fn jid(s: &str) -> BareJid {
    s.parse().expect("jid")
}

fn item(j: &str, name: Option<&str>, groups: &[&str]) -> RosterItem {
    let mut i = RosterItem::new(jid(j)).with_groups(groups.iter().copied());
    i.name = name.map(str::to_string);
    i
}

fn keys() -> ScramKeys {
    ScramKeys {
        mechanism_hash: ScramHash::Sha256,
        salt: b"QSXCR+Q6sek8bf92".to_vec(),
        iterations: 4096,
        salted_password: (0u8..32).collect(),
    }
}

fn caps_info(client: &str) -> (String, DiscoInfo) {
    let mut info = DiscoInfo::new(
        [Identity::new("client", "pc").with_name(client)],
        ["http://jabber.org/protocol/caps", "urn:xmpp:ping"],
    );
    info.extensions.push(DataForm::result(
        "urn:xmpp:dataforms:softwareinfo",
        [FormField::new("software", [client])],
    ));
    (verification_string(&info, CapsHash::Sha1), info)
}

fn card() -> VCard {
    let mut card = VCard::new();
    card.full_name = Some("Romeo Montague".into());
    card.nickname = Some("Romeo <&> 'R'".into());
    card.emails.push(Email::new("romeo@montague.lit"));
    card.photo = Some(Photo::Binary(AvatarImage::new(
        "image/png",
        vec![137, 80, 78, 71],
    )));
    card
}

/// Applies one of each kind of event, the roster through a load, a push
/// that adds, one that changes, one that removes.
fn fill(store: &mut Store, me: &BareJid) {
    let romeo = item("romeo@montague.lit", Some("Romeo"), &["Friends", "Lovers"]);
    let nurse = item("nurse@capulet.lit", None, &[]);
    let mut tybalt = item("tybalt@capulet.lit", Some("Tybalt"), &["Enemies"]);
    tybalt.subscription = Subscription::Both;
    tybalt.ask = true;
    tybalt.approved = true;
    let (ver, info) = caps_info("Psi");
    let image = AvatarImage::new("image/png", vec![1, 2, 3]);
    let events = [
        Event::Roster(RosterEvent::Loaded {
            ver: Some("v1".into()),
            items: vec![romeo.clone(), nurse.clone()],
        }),
        Event::Roster(RosterEvent::Changed {
            change: RosterChange::Set(tybalt),
            ver: Some("v2".into()),
        }),
        Event::Roster(RosterEvent::Changed {
            change: RosterChange::Set(item("nurse@capulet.lit", Some("Nurse"), &["Household"])),
            ver: Some("v3".into()),
        }),
        Event::Roster(RosterEvent::Changed {
            change: RosterChange::Removed(jid("romeo@montague.lit")),
            ver: Some("v4".into()),
        }),
        Event::ScramKeys(keys()),
        Event::Disco(DiscoEvent::CapsLearned {
            hash: CapsHash::Sha1,
            ver,
            info,
        }),
        Event::VCard(VCardEvent::Fetched {
            id: "v1".into(),
            jid: jid("romeo@montague.lit"),
            result: Ok(Box::new(card())),
        }),
        Event::VCard(VCardEvent::Avatar {
            jid: jid("romeo@montague.lit"),
            advertised: Some(image.sha1_hex()),
            avatar: VCardAvatar::Image(image),
        }),
    ];
    for event in &events {
        assert_eq!(
            store.apply(me, event).expect("apply"),
            Applied::Stored,
            "{event:?}"
        );
    }
    // The cursor as the archive module reports it (the setter does the same).
    let cursor = Event::Mam(xmpp_proto::mam::MamEvent::Cursor {
        id: "cursor-17".into(),
    });
    assert_eq!(store.apply(me, &cursor).expect("apply"), Applied::Stored);
    store
        .set_resumption(me, Some(b"sm-id:h=5"))
        .expect("resumption");
}

fn check(stored: &Stored) {
    assert_eq!(stored.roster_ver.as_deref(), Some("v4"));
    let mut tybalt = item("tybalt@capulet.lit", Some("Tybalt"), &["Enemies"]);
    tybalt.subscription = Subscription::Both;
    tybalt.ask = true;
    tybalt.approved = true;
    assert_eq!(
        stored.roster,
        [
            item("nurse@capulet.lit", Some("Nurse"), &["Household"]),
            tybalt
        ]
    );
    assert_eq!(stored.scram_keys, Some(keys()));
    let (ver, info) = caps_info("Psi");
    assert_eq!(stored.caps, [(CapsHash::Sha1, ver.clone(), info.clone())]);
    let image = AvatarImage::new("image/png", vec![1, 2, 3]);
    assert_eq!(
        stored.avatar_hashes,
        [(jid("romeo@montague.lit"), image.sha1_hex())]
    );
    assert_eq!(stored.archive_cursor.as_deref(), Some("cursor-17"));
    assert_eq!(stored.resumption.as_deref(), Some(&b"sm-id:h=5"[..]));
    // Ready for the core's constructors.
    let roster = Roster::with_stored(stored.roster_ver.clone(), stored.roster.clone());
    assert_eq!(roster.version(), Some("v4"));
    assert_eq!(roster.len(), 2);
    let caps = Caps::with_cache("https://example.org/c", stored.caps.clone());
    assert_eq!(caps.cached(CapsHash::Sha1, &ver), Some(&info));
}

#[test]
fn every_kind_of_state_comes_back_from_memory() {
    let mut store = Store::in_memory().expect("store");
    let me = account();
    fill(&mut store, &me);
    check(&store.load(&me).expect("load"));
    let romeo = jid("romeo@montague.lit");
    assert_eq!(store.vcard(&me, &romeo).expect("vcard"), Some(card()));
    let (hash, image) = store.avatar(&me, &romeo).expect("avatar").expect("cached");
    assert_eq!(
        (hash.as_str(), image.data.as_slice()),
        (image.sha1_hex().as_str(), &[1, 2, 3][..])
    );
    // Another account sees none of it but the shared caps cache.
    let other = store.load(&jid("romeo@montague.lit")).expect("load");
    assert_eq!(other.roster, []);
    assert_eq!(other.scram_keys, None);
    assert_eq!(other.archive_cursor, None);
    assert_eq!(other.caps.len(), 1);
    assert_eq!(
        store
            .vcard(&jid("romeo@montague.lit"), &romeo)
            .expect("vcard"),
        None
    );
}

#[test]
fn every_kind_of_state_survives_a_reopen_and_forgetting_removes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let me = account();
    {
        let mut store = Store::open(&path).expect("open");
        fill(&mut store, &me);
    }
    let mut store = Store::open(&path).expect("reopen");
    check(&store.load(&me).expect("load"));
    assert_eq!(
        store.vcard(&me, &jid("romeo@montague.lit")).expect("vcard"),
        Some(card())
    );
    store.forget_account(&me).expect("forget");
    let stored = store.load(&me).expect("load");
    assert_eq!(stored.roster, []);
    assert_eq!((stored.roster_ver, stored.scram_keys), (None, None));
    assert_eq!((stored.archive_cursor, stored.resumption), (None, None));
    assert_eq!(stored.avatar_hashes, []);
    assert_eq!(stored.caps.len(), 1, "the caps cache is shared");
}

#[test]
fn unchanged_keeps_the_roster_and_none_clears_what_can_be_cleared() {
    let mut store = Store::in_memory().expect("store");
    let me = account();
    fill(&mut store, &me);
    let unchanged = Event::Roster(RosterEvent::Unchanged {
        ver: Some("v4".into()),
    });
    assert_eq!(
        store.apply(&me, &unchanged).expect("apply"),
        Applied::Stored
    );
    assert_eq!(store.load(&me).expect("load").roster.len(), 2);
    // A fresh load without versioning replaces everything.
    let loaded = Event::Roster(RosterEvent::Loaded {
        ver: None,
        items: vec![item("benvolio@montague.lit", None, &["Friends"])],
    });
    store.apply(&me, &loaded).expect("apply");
    store.set_scram_keys(&me, None).expect("keys");
    store.set_archive_cursor(&me, None).expect("cursor");
    store.set_resumption(&me, None).expect("resumption");
    let romeo = jid("romeo@montague.lit");
    let no_avatar = Event::VCard(VCardEvent::Avatar {
        jid: romeo.clone(),
        advertised: None,
        avatar: VCardAvatar::None,
    });
    assert_eq!(
        store.apply(&me, &no_avatar).expect("apply"),
        Applied::Stored
    );
    let stored = store.load(&me).expect("load");
    assert_eq!(
        stored.roster,
        [item("benvolio@montague.lit", None, &["Friends"])]
    );
    assert_eq!(stored.roster_ver, None);
    assert_eq!(stored.scram_keys, None);
    assert_eq!(stored.archive_cursor, None);
    assert_eq!(stored.resumption, None);
    assert_eq!(stored.avatar_hashes, []);
    assert_eq!(store.avatar(&me, &romeo).expect("avatar"), None);
    // Events that carry no state are ignored.
    let done = Event::Roster(RosterEvent::Done {
        id: "x".into(),
        result: Ok(()),
    });
    assert_eq!(store.apply(&me, &done).expect("apply"), Applied::Ignored);
}

#[test]
fn caches_are_bounded_least_recently_written_first() {
    let mut store = Store::in_memory().expect("store").with_limits(StoreLimits {
        caps: 2,
        vcards: 2,
        avatars: 2,
    });
    let me = account();
    let names = ["A", "B", "C"];
    for (i, name) in names.iter().enumerate() {
        let (ver, info) = caps_info(name);
        let learned = Event::Disco(DiscoEvent::CapsLearned {
            hash: CapsHash::Sha1,
            ver,
            info,
        });
        store.apply(&me, &learned).expect("apply");
        let contact = jid(&format!("c{i}@example.net"));
        let fetched = Event::VCard(VCardEvent::Fetched {
            id: format!("f{i}"),
            jid: contact.clone(),
            result: Ok(Box::new(card())),
        });
        store.apply(&me, &fetched).expect("apply");
        let image = AvatarImage::new("image/png", vec![i as u8]);
        let avatar = Event::VCard(VCardEvent::Avatar {
            jid: contact,
            advertised: Some(image.sha1_hex()),
            avatar: VCardAvatar::Image(image),
        });
        store.apply(&me, &avatar).expect("apply");
    }
    let stored = store.load(&me).expect("load");
    let kept: Vec<String> = stored.caps.iter().map(|(_, v, _)| v.clone()).collect();
    assert_eq!(kept, [caps_info("B").0, caps_info("C").0]);
    let contacts: Vec<&str> = stored
        .avatar_hashes
        .iter()
        .map(|(j, _)| j.as_str())
        .collect();
    assert_eq!(contacts, ["c1@example.net", "c2@example.net"]);
    assert_eq!(
        store.vcard(&me, &jid("c0@example.net")).expect("vcard"),
        None
    );
    assert!(store
        .vcard(&me, &jid("c2@example.net"))
        .expect("vcard")
        .is_some());
}

#[test]
fn debug_shows_neither_the_salted_password_nor_the_resumption_data() {
    let mut store = Store::in_memory().expect("store");
    let me = account();
    fill(&mut store, &me);
    let shown = format!("{:?}", store.load(&me).expect("load"));
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains("<9 bytes redacted>"), "{shown}");
    assert!(!shown.contains("sm-id"), "{shown}");
    // The salted password's bytes, in the forms Debug could print them.
    let salted: Vec<u8> = (0u8..32).collect();
    assert!(!shown.contains(&format!("{salted:?}")), "{shown}");
    assert!(!shown.contains("[0, 1, 2, 3"), "{shown}");
}

#[test]
fn a_store_moves_to_another_thread() {
    // Both adapters hand the store to the thread or task that drains the
    // events: it must be Send (a compile-time check), and work there.
    fn send<T: Send>(t: T) -> T {
        t
    }
    let mut store = send(Store::in_memory().expect("store"));
    let me = account();
    let stored = std::thread::spawn(move || {
        store.set_archive_cursor(&me, Some("c1")).expect("cursor");
        store.load(&me).expect("load")
    })
    .join()
    .expect("thread");
    assert_eq!(stored.archive_cursor.as_deref(), Some("c1"));
}
