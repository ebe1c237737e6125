use super::cursor::{After, CursorFilter};
use super::Reading;
use crate::engine::{view, Counts, GuardInfo, GuardState, InvalidArg, Record};

/// Guards per page when the caller names no `limit`.
pub const DEFAULT_PAGE: usize = 100;
/// The most guards one page may hold: a page is built in one go (on the JS
/// thread, for the memory store) and crosses to JS as one array.
pub const MAX_PAGE: usize = 1000;

/// What `inspect` asks for, owned so it can travel to a store's thread.
#[derive(Clone, Debug)]
pub struct InspectFilter {
    /// Namespace prefix (`"<ns>/"` or empty) followed by the caller's prefix.
    pub namespace_prefix: String,
    pub prefix: String,
    pub state: Option<GuardState>,
    /// Guards in this page; 0 asks for counts only.
    pub limit: usize,
    /// Where the page starts: after the previous page's last guard.
    pub after: Option<After>,
    /// Whether to count guards per state (a page walk, `guards()`, needs none).
    pub counts: bool,
}

impl InspectFilter {
    pub fn full_prefix(&self) -> String {
        format!("{}{}", self.namespace_prefix, self.prefix)
    }

    fn cursors(&self) -> CursorFilter<'_> {
        CursorFilter {
            namespace_prefix: &self.namespace_prefix,
            prefix: &self.prefix,
            state: self.state,
        }
    }

    /// The caller's `after`, checked against this filter.
    pub fn decode_after(&mut self, cursor: &str) -> Result<(), InvalidArg> {
        self.after = Some(self.cursors().decode(cursor)?);
        Ok(())
    }

    pub fn encode(&self, after: &After) -> String {
        self.cursors().encode(after)
    }

    /// The first key a key-ordered store looks at, and whether it is excluded.
    pub fn start_key(&self) -> (String, bool) {
        match &self.after {
            Some(After::Key(k)) => (k.clone(), true),
            _ => (self.full_prefix(), false),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Inspection {
    /// Times are on the wall clock once `shown`.
    pub now: i64,
    /// Keys without the namespace, sorted (Redis: sorted within the page).
    pub guards: Vec<(String, GuardInfo)>,
    /// Per state, over every guard matching the prefix (before `state` and
    /// paging); `None` when the filter asked for none.
    pub counts: Option<Counts>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// Derives a record's state at `now` and keeps it if the filter wants it;
/// every store's page goes through here so they all answer alike.
pub fn matching(
    key: &str,
    rec: &Record,
    filter: &InspectFilter,
    now: i64,
) -> Option<(String, GuardInfo)> {
    let v = view(rec, now)?;
    if filter.state.is_some_and(|s| s != v.state) {
        return None;
    }
    Some((key[filter.namespace_prefix.len()..].to_owned(), v))
}

/// Counts per state of `records` at `now`.
pub fn count<'a>(records: impl IntoIterator<Item = &'a Record>, now: i64) -> Counts {
    let mut counts = Counts::default();
    for rec in records {
        if let Some(v) = view(rec, now) {
            counts.add(v.state);
        }
    }
    counts
}

impl Inspection {
    /// The guards as callers see them: times on the wall clock.
    pub fn shown(mut self, at: Reading) -> Inspection {
        let by = at.to_wall;
        self.now += by;
        for (_, v) in &mut self.guards {
            v.started_at += by;
            v.expires_at += by;
            if let Some(t) = &mut v.failed_at {
                *t += by;
            }
            if let Some(t) = &mut v.approved_at {
                *t += by;
            }
        }
        self
    }
}
