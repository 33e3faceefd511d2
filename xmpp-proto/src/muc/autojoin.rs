//! Joining the rooms XEP-0402 bookmarks mark `autojoin` (§3.1): the MUC
//! module observes the bookmarks module's events (the list at login, a
//! bookmark added or changed by another client) and enters each such room
//! it is not in yet, with the bookmark's nick (else the account's
//! localpart, else its domain) and password. Neither module knows the
//! other's state: the core shows one module's events to the other
//! ([`Module::observe_event`](crate::Module::observe_event)).

use crate::bookmarks::{Bookmark, BookmarksEvent};
use crate::client::ModuleContext;

use super::{Join, Muc};

impl Muc {
    /// Enters the rooms of `bookmarks` marked autojoin that we are not in
    /// (nor entering or leaving). A room that cannot be joined (the room
    /// limit, an invalid nick) is skipped with a warning. Returns how many
    /// joins were sent.
    pub fn join_bookmarked<'a>(
        &mut self,
        cx: &mut ModuleContext<'_>,
        bookmarks: impl IntoIterator<Item = &'a Bookmark>,
    ) -> usize {
        let mut joined = 0;
        for b in bookmarks.into_iter().filter(|b| b.autojoin) {
            if self.room(&b.jid).is_some() {
                continue;
            }
            let account = cx.account();
            let nick = b.nick.clone().unwrap_or_else(|| {
                account
                    .node()
                    .map_or_else(|| account.domain().to_string(), |n| n.to_string())
            });
            let mut join = Join::new(b.jid.clone(), nick);
            if let Some(password) = &b.password {
                join = join.password(password.clone());
            }
            match self.join(cx, join) {
                Ok(()) => joined += 1,
                Err(e) => cx.warn(format!("did not join bookmarked room {}: {e}", b.jid)),
            }
        }
        joined
    }

    /// The autojoin reaction to a bookmarks event.
    pub(super) fn on_bookmarks(&mut self, cx: &mut ModuleContext<'_>, event: &BookmarksEvent) {
        if self.autojoin && cx.is_online() {
            let rooms = event.rooms_to_join();
            self.join_bookmarked(cx, rooms);
        }
    }
}
