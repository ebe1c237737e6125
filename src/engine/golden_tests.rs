//! Records as the 0.1.0 code serialised them (read from the SQLite fixture
//! `__test__/fixtures/stores/task-guard-0.1.0-shapes.db`): every phase, meta, history of each kind, a
//! forced release's note. The compact types (run ids as bytes, shared owners,
//! boxed failures) must read and write exactly these texts, or stored records
//! would change form.

use super::Record;

const WRITTEN_BY_0_1_0: &[&str] = &[
    r#"{"phase":"Idle","last_fence":1795647363879000,"history":[{"run_id":"01a214ec-5b27-779d-a8c2-65e95fb5edb1","ended_at":1795647363879,"how":{"Released":"Succeeded"}}],"updated_at":1795647363879}"#,
    r#"{"phase":{"Failed":{"run":{"run_id":"01a214ec-5b24-7e6a-a2a3-99db6f60a8eb","fencing_token":1795647363876000,"started_at":1795647363876,"expires_at":1795647963876,"ttl_ms":600000,"owner":"writer","attempt":1,"meta":null},"failed_at":1795647363877,"error":"disk full","cause":"Released"}},"last_fence":1795647363876000,"history":[],"updated_at":1795647363877}"#,
    r#"{"phase":{"Running":{"run_id":"01a214ec-5b23-7cd5-b621-566fd3ce2915","fencing_token":1795647363875000,"started_at":1795647363875,"expires_at":1797794847522,"ttl_ms":2147483647,"owner":"writer","attempt":1,"meta":"{\"job\":7}"}},"last_fence":1795647363875000,"history":[],"updated_at":1795647363875}"#,
    r#"{"phase":{"Running":{"run_id":"01a214ec-5b23-721a-a0c7-4ec9350cfb36","fencing_token":1795647363875000,"started_at":1795647363875,"expires_at":1797794847522,"ttl_ms":2147483647,"owner":"writer","attempt":1,"meta":null}},"last_fence":1795647363875000,"history":[],"updated_at":1795647363875}"#,
    r#"{"phase":{"Approved":[{"run":{"run_id":"01a214ec-5b25-73fa-80c7-24155f1733bf","fencing_token":1795647363877000,"started_at":1795647363877,"expires_at":1795647963877,"ttl_ms":600000,"owner":"writer","attempt":1,"meta":null},"failed_at":1795647363878,"error":"timeout","cause":"Released"},{"approved_at":1795647363878,"approved_by":"ops","reason":"retry it"}]},"last_fence":1795647363877000,"history":[],"updated_at":1795647363878}"#,
    r#"{"phase":"Idle","last_fence":1795647363880000,"history":[{"run_id":"01a214ec-5b28-7f0d-8326-b669809a4ab5","ended_at":1795647363880,"how":"Forced","note":"forced by ops: host died"}],"updated_at":1795647363880}"#,
    r#"{"phase":{"Running":{"run_id":"01a214ec-5b2f-7431-8108-4d37fd82545b","fencing_token":1795647363887000,"started_at":1795647363887,"expires_at":1797794847534,"ttl_ms":2147483647,"owner":"vm:26893","attempt":2,"meta":null}},"last_fence":1795647363887000,"history":[{"run_id":"01a214ec-5b29-700a-ac40-0ea2d30ebfe2","ended_at":1795647363887,"how":"Healed"}],"updated_at":1795647363887}"#,
    r#"{"phase":{"Running":{"run_id":"01a214ec-5b24-751f-a157-4f9dc766471f","fencing_token":1795647363876000,"started_at":1795647363876,"expires_at":1795647363877,"ttl_ms":1,"owner":"writer","attempt":1,"meta":null}},"last_fence":1795647363876000,"history":[],"updated_at":1795647363876}"#,
    r#"{"phase":{"Failed":{"run":{"run_id":"01a214ec-5b31-71e4-a2b7-3e726633da18","fencing_token":1795647363889000,"started_at":1795647363889,"expires_at":1795647363890,"ttl_ms":1,"owner":"vm:26893","attempt":1,"meta":null},"failed_at":1795647363895,"error":"run went stale: no heartbeat or release before its expiry at 1795647363890","cause":"Stale"}},"last_fence":1795647363889000,"history":[],"updated_at":1795647363895}"#,
];

#[test]
fn records_serialise_exactly_as_before() {
    for text in WRITTEN_BY_0_1_0 {
        let rec: Record = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&rec).unwrap(), *text);
    }
}
