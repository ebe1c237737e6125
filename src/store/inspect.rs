use super::Reading;
use crate::engine::{view, Counts, DerivedState, GuardView, Record};

/// What `inspect` asks for, owned so it can travel to a store's thread.
#[derive(Clone, Debug)]
pub struct InspectFilter {
    /// Namespace prefix (`"<ns>/"` or empty) followed by the caller's prefix.
    pub namespace_prefix: String,
    pub prefix: String,
    pub state: Option<DerivedState>,
    pub limit: usize,
}

impl InspectFilter {
    pub fn full_prefix(&self) -> String {
        format!("{}{}", self.namespace_prefix, self.prefix)
    }
}

#[derive(Clone, Debug)]
pub struct Inspection {
    /// Times are on the wall clock once `shown`.
    pub now: i64,
    /// Keys without the namespace, sorted.
    pub guards: Vec<(String, GuardView)>,
    /// Per state, over every guard matching the prefix (before `state` and `limit`).
    pub counts: Counts,
}

/// Derives each record's state at `now` and applies the filter; every store's
/// `inspect` ends here so they all answer alike.
pub fn collect<'a>(
    records: impl IntoIterator<Item = (&'a str, &'a Record)>,
    filter: &InspectFilter,
    now: i64,
) -> Inspection {
    let mut guards = Vec::new();
    let mut counts = Counts::default();
    let ns = filter.namespace_prefix.len();
    for (key, rec) in records {
        let Some(v) = view(rec, now) else { continue };
        counts.add(v.state);
        if filter.state.is_none_or(|s| s == v.state) {
            guards.push((key[ns..].to_owned(), v));
        }
    }
    guards.sort_by(|a, b| a.0.cmp(&b.0));
    guards.truncate(filter.limit);
    Inspection {
        now,
        guards,
        counts,
    }
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
