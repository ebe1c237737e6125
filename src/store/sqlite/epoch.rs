//! The file's clock: every process of the host measures leases on the boot
//! clock plus one base, kept in the file for the current boot. A process
//! opening the file after a reboot sets a new base, past every time the file
//! holds, so each run of the earlier boot (whose holders the reboot ended)
//! reads as stale and times never go back.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::engine::{view, GuardState};
use crate::store::clock::{boot_id, boot_ms, wall_ms};
use crate::store::codec;

/// What the file says of its clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub boot: Option<i64>,
    pub base: Option<i64>,
}

/// What this process sees of the host now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub boot: Option<i64>,
    pub boot_ms: i64,
    pub wall_ms: i64,
}

/// The latest time the file holds: of any write, and of any running run's expiry.
pub type Latest = (i64, i64);

/// The base for this boot, and whether it is new (to be written).
pub fn choose_base(
    stored: Stored,
    host: Host,
    latest: impl FnOnce() -> rusqlite::Result<Latest>,
) -> rusqlite::Result<(i64, bool)> {
    let reboot = |latest: Latest| {
        let (written, expires) = latest;
        let after = host.wall_ms.max(written + 1).max(expires);
        (after - host.boot_ms, true)
    };
    Ok(match (stored.base, stored.boot, host.boot) {
        // Written before times were measured this way: by the wall clock,
        // which the first base continues, so runs recorded so keep their expiry.
        (None, _, _) => (host.wall_ms - host.boot_ms, true),
        (Some(base), Some(was), Some(is)) if was == is => (base, false),
        // A platform that names no boot: the boot clock going back is a reboot.
        (Some(base), None, None) => {
            let latest = latest()?;
            if base + host.boot_ms > latest.0 {
                (base, false)
            } else {
                reboot(latest)
            }
        }
        _ => reboot(latest()?),
    })
}

/// Reads or sets the file's base for this boot, once per open.
pub fn anchor(conn: &mut Connection) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let meta = |name: &str| -> rusqlite::Result<Option<i64>> {
        tx.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
    };
    let stored = Stored {
        boot: meta("clock_boot")?,
        base: meta("clock_base")?,
    };
    let host = Host {
        boot: boot_id().map(|id| fingerprint(&id)),
        boot_ms: boot_ms(),
        wall_ms: wall_ms(),
    };
    let (base, new) = choose_base(stored, host, || latest(&tx))?;
    if new {
        let mut put = tx.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)")?;
        put.execute(rusqlite::params!["clock_base", base])?;
        match host.boot {
            Some(boot) => put.execute(rusqlite::params!["clock_boot", boot])?,
            None => tx.execute("DELETE FROM meta WHERE name = 'clock_boot'", [])?,
        };
    }
    tx.commit()?;
    Ok(base)
}

fn latest(tx: &rusqlite::Transaction) -> rusqlite::Result<Latest> {
    let written: i64 =
        tx.query_row("SELECT coalesce(max(updated_at), 0) FROM guards", [], |r| {
            r.get(0)
        })?;
    let mut expires = 0;
    let mut q = tx.prepare("SELECT record FROM guards WHERE idle = 0")?;
    let mut rows = q.query([])?;
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        // An unreadable record is reported when it is used, not here.
        let Ok(rec) = codec::decode("", &text) else {
            continue;
        };
        if let Some(v) = view(&rec, i64::MIN).filter(|v| v.state == GuardState::Running) {
            expires = expires.max(v.expires_at);
        }
    }
    Ok((written, expires))
}

/// A stable 63-bit number for a boot identity (the meta table holds integers).
fn fingerprint(id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Host = Host {
        boot: Some(7),
        boot_ms: 5_000,
        wall_ms: 1_000_000,
    };
    const LATEST: Latest = (990_000, 1_600_000);

    fn base(stored: Stored, host: Host) -> (i64, bool) {
        choose_base(stored, host, || Ok(LATEST)).unwrap()
    }

    #[test]
    fn a_file_without_a_clock_continues_the_wall_clock_it_was_written_by() {
        let stored = Stored {
            boot: None,
            base: None,
        };
        assert_eq!(base(stored, HOST), (995_000, true));
    }

    #[test]
    fn the_same_boot_keeps_its_base_whatever_the_wall_clock_says() {
        let stored = Stored {
            boot: Some(7),
            base: Some(123),
        };
        let stepped = Host {
            wall_ms: HOST.wall_ms + 3_600_000,
            ..HOST
        };
        assert_eq!(base(stored, HOST), (123, false));
        assert_eq!(base(stored, stepped), (123, false));
    }

    #[test]
    fn a_new_boot_starts_past_every_run_of_the_earlier_one() {
        let stored = Stored {
            boot: Some(6),
            base: Some(123),
        };
        let (b, new) = base(stored, HOST);
        assert!(new);
        assert_eq!(
            b + HOST.boot_ms,
            LATEST.1,
            "now is at the latest expiry: those runs are stale"
        );
        let behind = Host { wall_ms: 0, ..HOST };
        assert_eq!(base(stored, behind).0 + HOST.boot_ms, LATEST.1);
        let ahead = Host {
            wall_ms: 9_000_000,
            ..HOST
        };
        assert_eq!(base(stored, ahead).0 + HOST.boot_ms, 9_000_000);
    }

    #[test]
    fn without_boot_identity_a_boot_clock_gone_back_is_a_reboot() {
        let stored = Stored {
            boot: None,
            base: Some(986_000),
        };
        let nameless = Host { boot: None, ..HOST };
        // base + boot clock = 991_000, past every write: the same boot.
        assert_eq!(base(stored, nameless), (986_000, false));
        let rebooted = Host {
            boot: None,
            boot_ms: 10,
            ..HOST
        };
        let (b, new) = base(stored, rebooted);
        assert!(new);
        assert_eq!(b + 10, LATEST.1);
    }

    #[test]
    fn boot_fingerprints_are_stable_and_distinct() {
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
        assert!(fingerprint("56163a83-a8f5-4ace-ae49-fd6554f2b373") >= 0);
    }
}
