//! Catch-up after a reconnect that is not a resumption: every message of
//! the account's archive after the last archive id the application saw
//! (its cursor), page by page, so a whole backlog never sits in memory.
//!
//! The cursor moves only forwards: with each live message (or carbon) that
//! carries our archive's stanza-id, and with each page of a catch-up. A
//! live message that arrives while a catch-up runs may be newer than what
//! the catch-up has reached, so it moves the cursor only when the catch-up
//! is complete: a crash in between resumes from the page reached, never
//! skips what lies between. With no cursor yet (a first login) the
//! archive's newest id is asked for (the last page, one item, not
//! delivered): from then on nothing is missed.
//!
//! The gap before our presence: a run starts as soon as the session is
//! online, before the application's initial presence. A message to our
//! bare JID that the server handles in between finds no available
//! resource: it goes to offline storage, and a server may then keep it
//! back when the presence comes because this session queried the archive
//! (Prosody 0.12 does: clients that use the archive are expected to fetch
//! it there). It is in the archive, but after the run's last page. So when
//! the server reflects our initial presence back to us (RFC 6121 §4.2.2:
//! from then on, messages reach us live), a run that started before it is
//! followed by one more, from where the runs' pages reached ([`covered`]).
//! A live id may have moved the cursor past that point meanwhile (a
//! message to our full JID): then the cursor goes back to it, the one case
//! where it moves backwards, so that a crash during the follow-up does not
//! skip the held-back message.
//!
//! [`covered`]: CatchUp::covered

use super::query::{Fin, Query};
use super::rsm::Page;

/// The default page size of a catch-up.
pub const CATCH_UP_PAGE: usize = 50;

/// What a catch-up query is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Run {
    /// Paging forwards from the cursor; results are delivered.
    Forward,
    /// Learning the newest id (no cursor yet); the result is not delivered.
    Anchor,
}

/// What to do after a catch-up page.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Ask for the next page.
    Next(Box<Query>),
    /// The catch-up is complete.
    Finished,
}

/// The catch-up state: the cursor and the run in flight.
#[derive(Clone, Debug)]
pub(super) struct CatchUp {
    /// The last archive id the application saw.
    pub(super) cursor: Option<String>,
    /// Results per page.
    pub(super) page: usize,
    /// The run in flight, if any.
    pub(super) running: Option<Run>,
    /// The newest live id seen while a run was in flight.
    newer_live: Option<String>,
    /// The newest id an anchor run returned.
    anchor: Option<String>,
    /// Messages delivered by this run so far.
    pub(super) delivered: usize,
    /// Where the runs' own pages (or the anchor) reached: everything up to
    /// it was delivered. Live ids do not move it.
    covered: Option<String>,
    /// The position the run in flight has reached.
    reached: Option<String>,
    /// Whether the last run ended complete (a failed one is retried at
    /// the next login, not followed up).
    last_ok: bool,
    /// This session: a run was started.
    queried: bool,
    /// This session: the server reflected our initial presence.
    presence_seen: bool,
    /// A follow-up run is due when the run in flight ends.
    follow_up: bool,
}

impl CatchUp {
    pub(super) fn new(cursor: Option<String>) -> Self {
        CatchUp {
            cursor: cursor.filter(|c| !c.is_empty()),
            page: CATCH_UP_PAGE,
            running: None,
            newer_live: None,
            anchor: None,
            delivered: 0,
            covered: None,
            reached: None,
            last_ok: false,
            queried: false,
            presence_seen: false,
            follow_up: false,
        }
    }

    /// A new session (not a resumption): nothing queried or seen yet.
    pub(super) fn new_session(&mut self) {
        self.queried = false;
        self.presence_seen = false;
        self.follow_up = false;
    }

    /// The server reflected our initial presence: whether a follow-up run
    /// should start now (true only once per session, when a run started
    /// before and is not in flight; one in flight is followed up when it
    /// ends).
    pub(super) fn presence_reflected(&mut self) -> bool {
        if std::mem::replace(&mut self.presence_seen, true) || !self.queried {
            return false;
        }
        if self.running.is_some() {
            self.follow_up = true;
            return false;
        }
        self.last_ok
    }

    /// Whether a run that just ended is to be followed up now.
    pub(super) fn take_follow_up(&mut self) -> bool {
        std::mem::take(&mut self.follow_up) && self.last_ok
    }

    /// The first query of a follow-up run: forwards from [`Self::covered`]
    /// (the cursor goes back there if a live id moved it past).
    pub(super) fn start_follow_up(&mut self) -> Query {
        self.cursor = self.covered.clone();
        self.begin();
        self.running = Some(Run::Forward);
        let page = Page::new().with_max(self.page);
        match &self.cursor {
            Some(c) => Query::new().page(page.after(c.clone())),
            // The archive was empty when the anchor was asked for: all of
            // it is newer.
            None => Query::new().page(page),
        }
    }

    /// A run begins: its own counters and positions.
    fn begin(&mut self) {
        self.queried = true;
        self.newer_live = None;
        self.anchor = None;
        self.delivered = 0;
        self.reached = self.cursor.clone();
    }

    /// The first query of a run, and the run begins.
    pub(super) fn start(&mut self) -> Query {
        self.begin();
        match &self.cursor {
            Some(c) => {
                self.running = Some(Run::Forward);
                Query::new().page(Page::new().with_max(self.page).after(c.clone()))
            }
            None => {
                self.running = Some(Run::Anchor);
                Query::new().page(Page::new().with_max(1).last())
            }
        }
    }

    /// A live message with our archive's id `id`: the new cursor to report,
    /// or none while a run is in flight (it is remembered for the end).
    pub(super) fn live(&mut self, id: &str) -> Option<String> {
        if self.running.is_some() {
            self.newer_live = Some(id.to_string());
            return None;
        }
        if self.cursor.as_deref() == Some(id) {
            return None;
        }
        self.cursor = Some(id.to_string());
        self.cursor.clone()
    }

    /// An anchor run's result.
    pub(super) fn anchored(&mut self, id: &str) {
        self.anchor = Some(id.to_string());
        self.reached = self.anchor.clone();
    }

    /// A page ended with `fin`: the next query, or the end of the run. The
    /// cursor is at the page's last id either way.
    pub(super) fn page_done(&mut self, fin: &Fin) -> Step {
        let run = self.running;
        if run == Some(Run::Forward) {
            if let Some(last) = &fin.page.last {
                self.cursor = Some(last.clone());
                self.reached = Some(last.clone());
            }
            // Another page only when this one moved the cursor: an archive
            // that says "incomplete" on an empty page would loop forever.
            if !fin.complete && fin.page.last.is_some() {
                let after = self.cursor.clone().unwrap_or_default();
                return Step::Next(Box::new(
                    Query::new().page(Page::new().with_max(self.page).after(after)),
                ));
            }
        }
        self.last_ok = true;
        self.finish();
        Step::Finished
    }

    /// The run ends (complete, or failed): the newest live id or the
    /// anchor becomes the cursor when it is newer than the pages reached.
    fn finish(&mut self) {
        self.covered = self.reached.take();
        if let Some(newer) = self.newer_live.take().or_else(|| self.anchor.take()) {
            self.cursor = Some(newer);
        }
        self.running = None;
    }

    /// The run failed (an error answer, or the connection went): the
    /// cursor stays at the last complete page, the next online retries. A
    /// live id seen meanwhile is kept only if nothing was left to fetch
    /// (an anchor run), else it would skip the rest of the backlog.
    pub(super) fn failed(&mut self) {
        if self.running == Some(Run::Forward) {
            self.newer_live = None;
        }
        self.last_ok = false;
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mam::PageInfo;

    fn fin(complete: bool, last: Option<&str>) -> Fin {
        Fin {
            complete,
            page: PageInfo {
                last: last.map(str::to_string),
                ..PageInfo::default()
            },
        }
    }

    #[test]
    fn a_run_pages_forward_from_the_cursor_and_ends_at_the_newest_live_id() {
        let mut c = CatchUp::new(Some("a5".into()));
        let q = c.start();
        assert_eq!(q.page.after.as_deref(), Some("a5"));
        assert_eq!(c.live("b1"), None, "held back while running");
        match c.page_done(&fin(false, Some("a9"))) {
            Step::Next(q) => assert_eq!(q.page.after.as_deref(), Some("a9")),
            Step::Finished => panic!("not complete"),
        }
        assert_eq!(c.cursor.as_deref(), Some("a9"));
        assert_eq!(c.page_done(&fin(true, Some("b1"))), Step::Finished);
        assert_eq!(c.cursor.as_deref(), Some("b1"));
        assert_eq!(c.live("b2"), Some("b2".into()));
        assert_eq!(c.live("b2"), None, "the same id twice moves nothing");
    }

    #[test]
    fn an_incomplete_empty_page_ends_the_run_instead_of_looping() {
        let mut c = CatchUp::new(Some("a5".into()));
        c.start();
        assert_eq!(c.page_done(&fin(false, None)), Step::Finished);
        assert_eq!(c.cursor.as_deref(), Some("a5"));
    }

    #[test]
    fn without_a_cursor_the_newest_id_is_learnt_and_a_failure_keeps_the_pages_reached() {
        let mut c = CatchUp::new(None);
        let q = c.start();
        assert_eq!(q.page.before.as_deref(), Some(""), "the last page");
        c.anchored("z9");
        assert_eq!(c.page_done(&fin(true, Some("z9"))), Step::Finished);
        assert_eq!(c.cursor.as_deref(), Some("z9"));

        c.start();
        c.live("z12");
        c.failed();
        assert_eq!(
            c.cursor.as_deref(),
            Some("z9"),
            "the backlog is not skipped"
        );
    }

    #[test]
    fn only_a_complete_run_before_our_presence_is_followed_up_and_once_per_session() {
        let mut c = CatchUp::new(Some("a5".into()));
        c.new_session();
        assert!(!c.presence_reflected(), "nothing queried yet");
        c.new_session();
        c.start();
        c.failed();
        assert!(
            !c.presence_reflected(),
            "a failed run: the next login retries"
        );
        c.new_session();
        c.start();
        assert!(
            !c.presence_reflected(),
            "in flight: followed up when it ends"
        );
        assert_eq!(c.page_done(&fin(true, Some("a6"))), Step::Finished);
        assert!(c.take_follow_up());
        assert!(!c.take_follow_up(), "taken");
        let q = c.start_follow_up();
        assert_eq!(q.page.after.as_deref(), Some("a6"));
        assert_eq!(c.page_done(&fin(true, None)), Step::Finished);
        assert!(!c.presence_reflected(), "once per session");
    }
}
