use crate::engine::{view, Counts, DerivedState, GuardView};

use super::{Store, StoreError};

pub struct InspectFilter<'a> {
    /// Matched against the caller's key (without the namespace).
    pub prefix: &'a str,
    pub state: Option<DerivedState>,
    pub limit: usize,
}

pub struct Inspection {
    pub now: i64,
    /// Keys without the namespace, sorted.
    pub guards: Vec<(String, GuardView)>,
    /// Per state, over every guard matching the prefix (before `state` and `limit`).
    pub counts: Counts,
}

pub fn inspect(
    store: &dyn Store,
    namespace_prefix: &str,
    filter: &InspectFilter,
) -> Result<Inspection, StoreError> {
    let mut guards = Vec::new();
    let mut counts = Counts::default();
    let mut full_prefix = String::with_capacity(namespace_prefix.len() + filter.prefix.len());
    full_prefix.push_str(namespace_prefix);
    full_prefix.push_str(filter.prefix);
    let mut seen = Vec::new();
    let now = store.scan(&full_prefix, &mut |key, rec| {
        seen.push((key.to_owned(), rec.clone()))
    })?;
    for (key, rec) in seen {
        let Some(v) = view(&rec, now) else { continue };
        counts.add(v.state);
        if filter.state.is_none_or(|s| s == v.state) {
            guards.push((key[namespace_prefix.len()..].to_owned(), v));
        }
    }
    guards.sort_by(|a, b| a.0.cmp(&b.0));
    guards.truncate(filter.limit);
    Ok(Inspection {
        now,
        guards,
        counts,
    })
}
