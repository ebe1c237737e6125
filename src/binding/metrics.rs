//! A guard's metrics as Prometheus text exposition (format 0.0.4): the
//! engine's counters and run-duration histogram, and, given the store's
//! counts, gauges of guards by state.

use std::fmt::Write;

use crate::engine::{
    Counts, Metrics, ACQUIRE_ANSWERS, BUCKETS_S, FAILURE_CAUSES, RELEASE_STATUSES,
};

/// One metric family: its help and type lines, then its samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn labelled<const N: usize>(
    label: &str,
    names: [&str; N],
    values: [u64; N],
) -> Vec<(String, String)> {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| (format!("{{{label}=\"{n}\"}}"), v.to_string()))
        .collect()
}

pub fn exposition(m: &Metrics, counts: Option<&Counts>) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "task_guard_acquires_total",
        "counter",
        "Acquire answers the store gave, by answer (a waiting acquire's retries included).",
        &labelled("answer", ACQUIRE_ANSWERS, m.acquires),
    );
    family(
        &mut out,
        "task_guard_releases_total",
        "counter",
        "Runs ended by a release, by status (forced: by an operator).",
        &labelled("status", RELEASE_STATUSES, m.releases),
    );
    family(
        &mut out,
        "task_guard_heals_total",
        "counter",
        "Stale runs replaced by a later acquire.",
        &[(String::new(), m.heals.to_string())],
    );
    family(
        &mut out,
        "task_guard_approvals_total",
        "counter",
        "Failed runs approved for a retry.",
        &[(String::new(), m.approvals.to_string())],
    );
    family(
        &mut out,
        "task_guard_failures_total",
        "counter",
        "Runs recorded failed, by cause (stale: past its expiry under onStale 'fail').",
        &labelled("cause", FAILURE_CAUSES, m.failures),
    );
    // The histogram's samples carry their suffixes in the "labels" column.
    let mut cumulative = 0;
    let mut samples: Vec<(String, String)> = m
        .durations
        .iter()
        .enumerate()
        .map(|(i, n)| {
            cumulative += n;
            let le = BUCKETS_S
                .get(i)
                .map_or("+Inf".to_owned(), |b| b.to_string());
            (format!("_bucket{{le=\"{le}\"}}"), cumulative.to_string())
        })
        .collect();
    samples.push((
        "_sum".into(),
        (m.duration_sum_ms as f64 / 1000.0).to_string(),
    ));
    samples.push(("_count".into(), cumulative.to_string()));
    family(
        &mut out,
        "task_guard_run_duration_seconds",
        "histogram",
        "How long released runs ran, from grant to release.",
        &samples,
    );
    if let Some(c) = counts {
        family(
            &mut out,
            "task_guard_guards",
            "gauge",
            "Guards in the store now, by state.",
            &labelled(
                "state",
                ["running", "stale", "failed", "approved"],
                [c.running, c.stale, c.failed, c.approved],
            ),
        );
    }
    out
}
