//! Golden files: `golden/0.1.0/` holds records as task-guard 0.1.0 wrote them
//! (taken from a file it wrote); `golden/v1/` what this build writes for each,
//! and for a record whose history holds every way a run ends. A change of the
//! stored form fails here; it must come as a new format version instead.
//! `UPDATE_GOLDEN=1 cargo test codec` writes the v1 files afresh, for review.

use std::path::PathBuf;

use super::*;
use crate::engine::{Ended, EndedHow, Kept, Phase, ReleaseStatus, RunId};

const CASES: &[&str] = &[
    "approved",
    "failed",
    "failed-stale",
    "idle-forced",
    "idle-released",
    "running",
    "running-healed-history",
    "running-meta",
    "running-short-ttl",
];

fn golden(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/store/codec/golden")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(golden(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim_end()
        .to_owned()
}

/// Compares `text` with the golden file, or writes it there when asked to.
fn check(path: &str, text: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden(path), format!("{text}\n")).unwrap();
    }
    assert_eq!(text, read(path), "{path}");
}

#[test]
fn records_written_by_0_1_0_read_and_write_as_version_1() {
    for case in CASES {
        let old = read(&format!("0.1.0/{case}.json"));
        let rec = decode(case, &old).unwrap();
        let written = encode(&rec);
        check(&format!("v1/{case}.json"), &written);
        assert_eq!(decode(case, &written).unwrap(), rec, "{case}");
        // Version 1 is 0.1.0's form with its version first: 0.1.0 reads it too.
        assert_eq!(written, format!("{{\"v\":1,{}", &old[1..]), "{case}");
    }
}

#[test]
fn every_phase_and_every_way_a_run_ends_has_a_golden_file() {
    let recs: Vec<Record> = CASES
        .iter()
        .map(|c| decode(c, &read(&format!("v1/{c}.json"))).unwrap())
        .collect();
    for phase in ["Idle", "Running", "Failed", "Approved"] {
        assert!(
            recs.iter()
                .any(|r| format!("{:?}", r.phase).starts_with(phase)),
            "no golden record is {phase}"
        );
    }
    let mut rec = recs[CASES.iter().position(|c| *c == "idle-released").unwrap()].clone();
    assert!(matches!(rec.phase, Phase::Idle));
    let id = |n: u8| RunId::parse(&format!("0189f7a2-3b4c-7d5e-8f60-1234567890{n:02x}"));
    let ended = |n, how, note: Option<&str>| Ended {
        run_id: id(n),
        ended_at: 1_700_000_000_000 + i64::from(n),
        how,
        note: note.map(str::to_owned),
        kept: None,
    };
    // The ends the 0.1.0 files lack (they have a success, a heal and a forced release).
    rec.history = vec![
        ended(1, EndedHow::Released(ReleaseStatus::Failed), None),
        ended(2, EndedHow::Released(ReleaseStatus::Cancelled), None),
        ended(3, EndedHow::Expired, None),
        ended(4, EndedHow::Forced, Some("forced by ops: host died")),
    ]
    .into();
    let text = encode(&rec);
    check("v1/history-every-kind.json", &text);
    assert_eq!(decode("k", &text).unwrap(), rec);
    let ends: Vec<EndedHow> = recs
        .iter()
        .chain([&rec])
        .flat_map(|r| r.history.iter().map(|e| e.how))
        .collect();
    for how in [
        EndedHow::Released(ReleaseStatus::Succeeded),
        EndedHow::Released(ReleaseStatus::Failed),
        EndedHow::Released(ReleaseStatus::Cancelled),
        EndedHow::Healed,
        EndedHow::Expired,
        EndedHow::Forced,
    ] {
        assert!(
            ends.contains(&how),
            "no golden record has a run that ended {how:?}"
        );
    }
}

/// A success's result and fingerprint (for replay) are optional fields of format 1,
/// kept on the newest ended run only; a record without them reads as before.
#[test]
fn a_kept_result_is_an_optional_field_of_format_1() {
    let mut rec = decode("k", &read("v1/idle-released.json")).unwrap();
    let mut newest = rec.history[0].clone();
    newest.kept = Kept::of(
        Some(r#"{"rows":3,"title":"wéekly 😀"}"#.into()),
        Some("sha256:ab".into()),
    );
    let mut list = rec.history.to_vec();
    list[0] = newest;
    rec.history = list.into();
    let text = encode(&rec);
    check("v1/idle-replayable.json", &text);
    assert_eq!(decode("k", &text).unwrap(), rec);
    assert!(!read("v1/idle-released.json").contains("result"));
}

#[test]
fn a_newer_format_is_refused_as_a_version_and_garbage_as_corrupt() {
    let newer = read("v1/running.json").replacen("\"v\":1", "\"v\":2", 1);
    assert!(
        matches!(decode("k", &newer), Err(StoreError::Version(m)) if m.contains("format version 2"))
    );
    assert!(matches!(
        decode("k", "not json"),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        decode("k", r#"{"v":1,"phase":"Sleeping"}"#),
        Err(StoreError::Corrupt(_))
    ));
}
