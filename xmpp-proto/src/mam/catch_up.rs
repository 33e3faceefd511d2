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
        }
    }

    /// The first query of a run, and the run begins.
    pub(super) fn start(&mut self) -> Query {
        self.newer_live = None;
        self.anchor = None;
        self.delivered = 0;
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
    }

    /// A page ended with `fin`: the next query, or the end of the run. The
    /// cursor is at the page's last id either way.
    pub(super) fn page_done(&mut self, fin: &Fin) -> Step {
        let run = self.running;
        if run == Some(Run::Forward) {
            if let Some(last) = &fin.page.last {
                self.cursor = Some(last.clone());
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
        self.finish();
        Step::Finished
    }

    /// The run ends (complete, or failed): the newest live id or the
    /// anchor becomes the cursor when it is newer than the pages reached.
    fn finish(&mut self) {
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
}
