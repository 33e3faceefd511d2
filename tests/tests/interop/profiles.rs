//! Profiles against the real server. Through both CLIs: a vCard (XEP-0054)
//! set by one account is read by the other. Through the library (the Tokio
//! adapter): a vCard-based avatar (XEP-0153) change is detected from a
//! presence and fetched once; a user avatar (XEP-0084) published by one
//! resource reaches another through PEP and its data checks out; a
//! bookmark (XEP-0402) with autojoin set on one resource is seen by a new
//! login of the same account, and its removal is notified. Each test
//! leaves the account's avatar and bookmarks as it found them (Prosody's
//! `vcard_legacy` keeps vCards and avatars in PEP: a card stored without a
//! photo purges both avatar nodes).

use std::time::Duration;

use serde_json::json;
use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle};
use xmpp_proto::avatar::{AvatarEvent, AvatarImage, AvatarMetadata, Avatars};
use xmpp_proto::bookmarks::{Bookmark, Bookmarks, BookmarksEvent};
use xmpp_proto::disco::Caps;
use xmpp_proto::pep::AccessModel;
use xmpp_proto::stanza::{BareJid, Jid, Presence};
use xmpp_proto::vcard::{Photo, VCardAvatar, VCardEvent, VCards};
use xmpp_proto::Client;

use super::cli::{assert_contract_fields, Cli, Server};
use super::each_driver;

const WAIT: Duration = Duration::from_secs(10);
/// What the interop sessions advertise as their caps node.
const NODE: &str = "urn:xmpp-proto:interop";

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_vcard_set_by_one_account_is_read_by_the_other() {
    each_driver(|d, s| {
        let ca = ["--ca-file", s.ca.as_str()];
        let alice_jid = format!("alice@{}", s.domain);
        let mut alice = Cli::start(d, s, "alice", "alice-pass", &ca);
        alice.online();
        let mut bob = Cli::start(d, s, "bob", "bob-pass", &ca);
        bob.online();

        // Values of this driver's run, so a card left by another cannot pass.
        let full_name = format!("Alice Liddell ({})", d.name);
        let nickname = format!("alice-{}", d.name);
        let email = format!("alice+{}@example.org", d.name);
        alice.send(json!({
            "cmd": "vcard-set", "fn": full_name, "nickname": nickname, "email": email, "tag": "set",
        }));
        let r = alice.expect("vcard-set result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "set"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);

        bob.send(json!({"cmd": "vcard-get", "jid": alice_jid, "tag": "get"}));
        let card = bob.expect("alice's vcard", WAIT, |v| v["event"] == "vcard");
        assert_contract_fields(&card);
        assert_eq!(
            card,
            json!({"event": "vcard", "jid": alice_jid, "fn": full_name,
                   "nickname": nickname, "email": email}),
            "[{}]",
            d.name
        );
        let r = bob.expect("vcard-get result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "get"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);

        // Our own, without jid; one field changed, the others kept.
        alice.send(json!({"cmd": "vcard-set", "nickname": "", "tag": "set2"}));
        let r = alice.expect("vcard-set result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "set2"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        alice.send(json!({"cmd": "vcard-get", "tag": "own"}));
        let card = alice.expect("our vcard", WAIT, |v| v["event"] == "vcard");
        assert_eq!(
            card,
            json!({"event": "vcard", "jid": alice_jid, "fn": full_name,
                   "nickname": null, "email": email}),
            "[{}]",
            d.name
        );
        alice.expect("vcard-get result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "own" && v["ok"] == true
        });
        assert_eq!(alice.finish().0, 0);
        assert_eq!(bob.finish().0, 0);
    });
}

/// A session of `user` on resource `resource`, with `setup` registering modules.
fn options(
    s: &Server,
    user: &str,
    resource: &str,
    setup: impl Fn(&mut Client) + Send + Sync + 'static,
) -> ConnectOptions {
    let jid = format!("{user}@{}", s.domain).parse().expect("jid");
    ConnectOptions::new(jid, format!("{user}-pass"))
        .server(s.host.clone(), s.c2s_port.parse().expect("port"))
        .ca_file(s.ca.clone())
        .resource(resource.to_string())
        .on_client(setup)
}

/// The next core event `pick` accepts, within `within`; `None` at the end
/// of that time.
async fn within<T>(
    events: &mut Events,
    within: Duration,
    mut pick: impl FnMut(xmpp_proto::Event) -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .ok()?;
        if let Event::Core(e) = event.expect("the session goes on") {
            if let Some(t) = pick(e) {
                return Some(t);
            }
        }
    }
}

/// The next core event `pick` accepts, within 10 s.
async fn next<T>(events: &mut Events, pick: impl FnMut(xmpp_proto::Event) -> Option<T>) -> T {
    within(events, WAIT, pick)
        .await
        .expect("the event within 10 s")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Sets our photo (`None`: none) through the vCard module's update, and
/// waits until the server stored it.
async fn set_photo(handle: &Handle, events: &mut Events, photo: Option<AvatarImage>) {
    let id = handle
        .with(move |c, now| {
            c.with_module(now, |v: &mut VCards, cx| {
                v.update(cx, move |card| card.photo = photo.map(Photo::Binary))
            })
        })
        .await
        .expect("online")
        .expect("registered")
        .expect("sent");
    let result = next(events, |e| match e {
        xmpp_proto::Event::VCard(VCardEvent::Done { id: done, result }) if done == id => {
            Some(result)
        }
        _ => None,
    })
    .await;
    result.expect("stored");
}

/// A small PNG-like image, different for each `n`.
fn image(n: u8) -> AvatarImage {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.extend(std::iter::repeat_n(n, 200));
    AvatarImage::new("image/png", data)
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn an_avatar_change_is_detected_from_presence_and_fetched_once() {
    let s = Server::from_env();
    runtime().block_on(async {
        let alice_jid: BareJid = format!("alice@{}", s.domain).parse().expect("jid");
        let bob_full: Jid = format!("bob@{}/avatars", s.domain).parse().expect("jid");
        let (alice, mut alice_events) = connect(options(&s, "alice", "avatars", |c| {
            c.register(VCards::new()).expect("register")
        }))
        .await
        .expect("online");
        let (bob, mut bob_events) = connect(options(&s, "bob", "avatars", |c| {
            c.register(VCards::new()).expect("register")
        }))
        .await
        .expect("online");

        // Alice's photo, stored; her presence to Bob carries its hash.
        let first = image(1);
        set_photo(&alice, &mut alice_events, Some(first.clone())).await;
        let to_bob = Presence::available().with_to(bob_full.clone());
        alice.send(to_bob.clone()).await.expect("sent");
        let (advertised, avatar) = next(&mut bob_events, |e| match e {
            xmpp_proto::Event::VCard(VCardEvent::Avatar {
                jid,
                advertised,
                avatar,
            }) if jid == alice_jid => Some((advertised, avatar)),
            _ => None,
        })
        .await;
        assert_eq!(advertised.as_deref(), Some(first.sha1_hex().as_str()));
        assert_eq!(avatar, VCardAvatar::Image(first.clone()));

        // The same presence again: no fetch.
        alice.send(to_bob.clone()).await.expect("sent");
        next(&mut bob_events, |e| match e {
            xmpp_proto::Event::Presence(p)
                if p.from.as_ref().map(Jid::to_bare) == Some(alice_jid.clone()) =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
        let fetching = bob
            .with(|c, _| c.module::<VCards>().map(VCards::avatar_fetches))
            .await
            .expect("online");
        assert_eq!(fetching, Some(0), "an unchanged hash fetches nothing");
        let again = within(&mut bob_events, Duration::from_secs(1), |e| match e {
            xmpp_proto::Event::VCard(v @ VCardEvent::Avatar { .. }) => Some(v),
            _ => None,
        })
        .await;
        assert_eq!(again, None, "no second fetch");

        // A new photo: one more fetch, of the new one.
        let second = image(2);
        set_photo(&alice, &mut alice_events, Some(second.clone())).await;
        alice.send(to_bob.clone()).await.expect("sent");
        let avatar = next(&mut bob_events, |e| match e {
            xmpp_proto::Event::VCard(VCardEvent::Avatar { jid, avatar, .. })
                if jid == alice_jid =>
            {
                Some(avatar)
            }
            _ => None,
        })
        .await;
        assert_eq!(avatar, VCardAvatar::Image(second));

        // As found: no photo (which purges the avatar nodes, too).
        set_photo(&alice, &mut alice_events, None).await;
        alice.close().await;
        bob.close().await;
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_user_avatar_published_by_one_resource_reaches_another_through_pep() {
    let s = Server::from_env();
    runtime().block_on(async {
        let alice_jid: BareJid = format!("alice@{}", s.domain).parse().expect("jid");
        // Open, as vcard_legacy makes the nodes it creates: whichever test
        // creates alice's avatar nodes first, bob may read them.
        let with_avatars = |c: &mut Client| {
            c.register(Avatars::new().access_model(AccessModel::Open))
                .expect("register");
            c.register(VCards::new()).expect("register");
            c.register(Caps::new(NODE)).expect("register");
        };
        let (one, mut one_events) = connect(options(&s, "alice", "pep1", with_avatars))
            .await
            .expect("online");
        let (two, mut two_events) = connect(options(&s, "alice", "pep2", with_avatars))
            .await
            .expect("online");
        // Our caps (with urn:xmpp:avatar:metadata+notify) reach the server.
        two.send(Presence::available()).await.expect("sent");
        tokio::time::sleep(Duration::from_millis(500)).await;

        let png = image(3);
        let id = one
            .with({
                let png = png.clone();
                move |c, now| {
                    c.with_module(now, |a: &mut Avatars, cx| {
                        a.publish(cx, &png, Some((64, 64)))
                    })
                }
            })
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        let result = next(&mut one_events, |e| match e {
            xmpp_proto::Event::Avatar(AvatarEvent::Published { id: done, result })
                if done == id =>
            {
                Some(result)
            }
            _ => None,
        })
        .await;
        result.expect("published");

        // The other resource is notified, from our bare JID, of the metadata ...
        let metadata: AvatarMetadata = next(&mut two_events, |e| match e {
            xmpp_proto::Event::Avatar(AvatarEvent::Notified {
                jid,
                metadata: Some(m),
            }) if jid == alice_jid && m.infos.iter().any(|i| i.id == png.sha1_hex()) => Some(m),
            _ => None,
        })
        .await;
        let info = metadata.in_data_node().expect("in the data node").clone();
        assert_eq!(
            (info.bytes, info.width, info.height),
            (png.data.len() as u64, Some(64), Some(64))
        );
        // ... and fetches the data, which hashes to its id.
        let id = two
            .with({
                let (jid, info) = (alice_jid.clone(), info.clone());
                move |c, now| c.with_module(now, |a: &mut Avatars, cx| a.fetch_data(cx, jid, &info))
            })
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        let data = next(&mut two_events, |e| match e {
            xmpp_proto::Event::Avatar(AvatarEvent::Data {
                id: got, result, ..
            }) if got == id => Some(result),
            _ => None,
        })
        .await;
        assert_eq!(data.expect("the data").data, png.data);

        // As found: a card without photo purges both avatar nodes.
        set_photo(&one, &mut one_events, None).await;
        one.close().await;
        two.close().await;
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_bookmark_with_autojoin_set_on_one_resource_makes_a_new_login_join_the_room() {
    let s = Server::from_env();
    runtime().block_on(async {
        let room: BareJid = format!("profiles@conference.{}", s.domain)
            .parse()
            .expect("jid");
        let with_bookmarks = |c: &mut Client| {
            c.register(Bookmarks::new()).expect("register");
            c.register(Caps::new(NODE)).expect("register");
        };
        let loaded = |e| match e {
            xmpp_proto::Event::Bookmarks(BookmarksEvent::Loaded(list)) => Some(list),
            _ => None,
        };

        let (one, mut one_events) = connect(options(&s, "alice", "bm1", with_bookmarks))
            .await
            .expect("online");
        let before = next(&mut one_events, loaded).await;
        assert!(
            !before.iter().any(|b| b.jid == room),
            "left over: {before:?}"
        );
        let bookmark = Bookmark::new(room.clone())
            .with_name("Profiles")
            .with_nick("alice")
            .with_autojoin(true);
        let set = bookmark.clone();
        let id = one
            .with(move |c, now| c.with_module(now, |b: &mut Bookmarks, cx| b.set(cx, set)))
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        let result = next(&mut one_events, |e| match e {
            xmpp_proto::Event::Bookmarks(BookmarksEvent::Done { id: done, result })
                if done == id =>
            {
                Some(result)
            }
            _ => None,
        })
        .await;
        result.expect("published with XEP-0402's publish-options");

        // A new login of the same account sees it, autojoin and all, and
        // its MUC module joins the room (with the bookmark's nick).
        let with_muc = move |c: &mut Client| {
            with_bookmarks(c);
            c.register(xmpp_proto::muc::Muc::new()).expect("register");
        };
        let (two, mut two_events) = connect(options(&s, "alice", "bm2", with_muc))
            .await
            .expect("online");
        let list = next(&mut two_events, loaded).await;
        let event = BookmarksEvent::Loaded(list.clone());
        let join: Vec<&Bookmark> = event.rooms_to_join();
        assert_eq!(join, [&bookmark], "{list:?}");
        let (joined, nick) = next(&mut two_events, |e| match e {
            xmpp_proto::Event::Muc(xmpp_proto::muc::MucEvent::Joined { room, nick, .. }) => {
                Some((room, nick))
            }
            _ => None,
        })
        .await;
        assert_eq!((joined, nick.as_str()), (room.clone(), "alice"));

        // With its caps (+notify) known to the server, it hears the removal.
        two.send(Presence::available()).await.expect("sent");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let id = one
            .with({
                let room = room.clone();
                move |c, now| c.with_module(now, |b: &mut Bookmarks, cx| b.remove(cx, &room))
            })
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        let removed = next(&mut two_events, |e| match e {
            xmpp_proto::Event::Bookmarks(BookmarksEvent::Removed(r)) => Some(r),
            _ => None,
        })
        .await;
        assert_eq!(removed, room);
        let result = next(&mut one_events, |e| match e {
            xmpp_proto::Event::Bookmarks(BookmarksEvent::Done { id: done, result })
                if done == id =>
            {
                Some(result)
            }
            _ => None,
        })
        .await;
        result.expect("retracted");
        one.close().await;
        two.close().await;
    });
}
