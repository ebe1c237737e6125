//! JS arguments to engine commands, shared by the memory and durable bindings
//! so both refuse the same input the same way.

use super::errors::{invalid, Result};
use super::options::{duration, ttl, Settings};
use crate::engine::{
    storage_key, validate_key, validate_run_id, validate_text, Acquire, ApproveRetry, Command,
    ForceRelease, GuardState, Heartbeat, Outcome, Owner, Release, ReleaseStatus, RunId,
    MAX_FINGERPRINT_BYTES, MAX_META_BYTES, MAX_OWNER_BYTES, MAX_REASON_BYTES,
};
use crate::store::{InspectFilter, DEFAULT_PAGE, MAX_PAGE};

pub fn key<'a>(settings: &Settings, key: &'a str) -> Result<std::borrow::Cow<'a, str>> {
    validate_key(key, settings.max_key_bytes)?;
    crate::fault::inject("binding", key);
    Ok(storage_key(&settings.namespace, key))
}

/// `owner_of` makes the owner's shared name (a store may keep one copy of each).
pub fn acquire(
    owner: Option<String>,
    ttl_ms: Option<f64>,
    meta: Option<String>,
    fingerprint: Option<String>,
    owner_of: impl FnOnce(String) -> Owner,
) -> Result<Command> {
    let ttl_ms = ttl("ttlMs", ttl_ms)?;
    if let Some(o) = &owner {
        validate_text("owner", o, MAX_OWNER_BYTES)?;
    }
    if let Some(m) = &meta {
        validate_text("meta (as JSON)", m, MAX_META_BYTES)?;
    }
    if let Some(f) = &fingerprint {
        validate_text("fingerprint", f, MAX_FINGERPRINT_BYTES)?;
    }
    Ok(Command::Acquire(Acquire {
        owner: owner.map(owner_of),
        ttl_ms,
        meta,
        fingerprint,
    }))
}

/// An acquire without an owner takes the guard's default one.
pub fn or_default_owner(mut command: Command, default: &Option<Owner>) -> Command {
    if let Command::Acquire(a) = &mut command {
        if a.owner.is_none() {
            a.owner.clone_from(default);
        }
    }
    command
}

/// The run id a caller names: minted ids only (see `validate_run_id`).
fn run_id(s: &str) -> Result<RunId> {
    match RunId::minted(s) {
        Some(id) => Ok(id),
        None => {
            validate_run_id(s)?;
            unreachable!("validate_run_id refuses what RunId::minted does")
        }
    }
}

/// `status` indexes `ReleaseStatus::ALL`; `result` is JSON text, for a success only.
pub fn release(
    settings: &Settings,
    run_id_text: String,
    status: u32,
    error: Option<String>,
    result: Option<String>,
) -> Result<Command> {
    let run_id = run_id(&run_id_text)?;
    let status = release_status(status)?;
    if let Some(r) = &result {
        if status != ReleaseStatus::Succeeded {
            return Err(invalid(format!(
                "result is a success's value: a '{}' release takes an error, not a result",
                status.as_str()
            )));
        }
        if r.len() > settings.max_result_bytes {
            return Err(invalid(format!(
                "result is {} bytes as JSON; maxResultBytes is {}",
                r.len(),
                settings.max_result_bytes
            )));
        }
        serde_json::from_str::<serde::de::IgnoredAny>(r)
            .map_err(|e| invalid(format!("result is not JSON text: {e}")))?;
    }
    Ok(Command::Release(Release {
        run_id,
        status,
        error,
        result,
    }))
}

fn release_status(index: u32) -> Result<ReleaseStatus> {
    ReleaseStatus::ALL
        .get(index as usize)
        .copied()
        .ok_or_else(|| invalid(format!("unknown release status index {index}")))
}

/// A release of `run_id` (already parsed) with no error or result.
pub fn plain_release(run_id: RunId, status: u32) -> Result<Command> {
    Ok(Command::Release(Release {
        run_id,
        status: release_status(status)?,
        error: None,
        result: None,
    }))
}

pub fn outcome(run_id_text: String) -> Result<Command> {
    Ok(Command::Outcome(Outcome {
        run_id: run_id(&run_id_text)?,
    }))
}

pub fn heartbeat(run_id_text: String, ttl_ms: Option<f64>) -> Result<Command> {
    let run_id = run_id(&run_id_text)?;
    let ttl_ms = ttl("ttlMs", ttl_ms)?;
    Ok(Command::Heartbeat(Heartbeat { run_id, ttl_ms }))
}

fn operator_text(by: &Option<String>, reason: &Option<String>, by_name: &str) -> Result<()> {
    if let Some(b) = by {
        validate_text(by_name, b, MAX_OWNER_BYTES)?;
    }
    if let Some(r) = reason {
        validate_text("reason", r, MAX_REASON_BYTES)?;
    }
    Ok(())
}

pub fn approve(approved_by: Option<String>, reason: Option<String>) -> Result<Command> {
    operator_text(&approved_by, &reason, "approvedBy")?;
    Ok(Command::ApproveRetry(ApproveRetry {
        approved_by,
        reason,
    }))
}

pub fn force(by: Option<String>, reason: Option<String>) -> Result<Command> {
    operator_text(&by, &reason, "by")?;
    Ok(Command::ForceRelease(ForceRelease { by, reason }))
}

/// `limit`: `None` is a default page; 0 asks for counts only. `after`: the
/// `next` cursor of the previous page, checked against this filter.
pub fn inspect_filter(
    settings: &Settings,
    prefix: Option<String>,
    state: Option<String>,
    limit: Option<f64>,
    after: Option<String>,
    counts: bool,
) -> Result<InspectFilter> {
    let state = state.as_deref().map(GuardState::parse).transpose()?;
    let limit = match limit {
        None => DEFAULT_PAGE,
        Some(v) => duration("limit", v, 0, u32::MAX as u64)? as usize,
    };
    if limit > MAX_PAGE {
        return Err(invalid(format!(
            "limit is at most {MAX_PAGE} guards a page, not {limit}: walk the pages with `after` (or guards())"
        )));
    }
    let mut filter = InspectFilter {
        namespace_prefix: storage_key(&settings.namespace, "").into_owned(),
        prefix: prefix.unwrap_or_default(),
        state,
        limit,
        after: None,
        counts,
    };
    if let Some(cursor) = after {
        filter.decode_after(&cursor)?;
    }
    Ok(filter)
}
