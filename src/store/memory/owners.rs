//! One copy of each owner name: a process's runs name a few owners (a
//! gateway's `<host>:<pid>`, a handful of workers), so a million records share
//! a handful of strings instead of holding one each.

use std::collections::HashSet;

use crate::engine::Owner;

#[derive(Default)]
pub struct Owners {
    names: HashSet<Owner>,
    /// The name asked for last: most calls name the guard's default owner, and
    /// comparing it costs less than hashing.
    last: Option<Owner>,
    /// Size after the last shedding: shed again once it has doubled.
    shed_at: usize,
}

/// Below this many names, shedding is not worth a look.
const SHED_FLOOR: usize = 64;

impl Owners {
    pub fn intern(&mut self, name: String) -> Owner {
        if let Some(last) = self.last.as_ref().filter(|l| l.as_str() == name) {
            return last.clone();
        }
        let owner = match self.names.get(name.as_str()) {
            Some(known) => known.clone(),
            None => {
                let owner = Owner::from(name);
                self.names.insert(owner.clone());
                owner
            }
        };
        self.last = Some(owner.clone());
        owner
    }

    /// Forgets names no record holds any more, when the set has grown enough
    /// that the look pays for itself (amortised O(1) per name).
    pub fn shed(&mut self) {
        if self.names.len() < self.shed_at.max(SHED_FLOOR) * 2 {
            return;
        }
        self.names.retain(Owner::is_shared);
        self.shed_at = self.names.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_copy_per_name_and_unused_names_go() {
        let mut o = Owners::default();
        let a = o.intern("gateway-1".into());
        let b = o.intern("gateway-1".into());
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        drop((a, b));
        for i in 0..200 {
            o.intern(format!("w{i}"));
        }
        o.shed();
        assert_eq!(o.names.len(), 1, "only the last one asked for is held");
    }
}
