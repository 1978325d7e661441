//! The restore runs on a spawned task in the CLI: its futures must be `Send` for every lifetime
//! (a stream over a borrowing closure is not, rust-lang/rust#102211). This only has to compile.

use super::*;

fn assert_send<T: Send>(_: T) {}
#[allow(dead_code, clippy::too_many_arguments)]
fn futures_are_send(
    r: &Repository,
    m: &SnapshotManifest,
    a: &AwsContext,
    o: &RestoreOptions,
    s: &dyn ProgressSink,
    p: &RestorePlan,
    l: &SharedLock,
    x: &crate::repository::lock::ExclusiveLock,
) {
    assert_send(plan_restore(r, m, a, o, s));
    assert_send(run_restore(l, p, a, o, s));
    assert_send(identities::apply::apply(
        &a.identity_quicksight,
        "1",
        p.identities.as_ref().unwrap(),
        &o.identity_limits,
        s,
        &|_| {},
    ));
    assert_send(legacy::import_legacy(
        x,
        None,
        &legacy::LegacyImport {
            date: chrono::NaiveDate::MIN,
            prefix_format: Default::default(),
            account_id: String::new(),
            region: String::new(),
            identity_region: String::new(),
            tables: Default::default(),
        },
    ));
}
