//! `DeleteAnalysis` with and without a recovery window, and `RestoreAnalysis`.

use aws_sdk_quicksight::types::ResourceStatus;
use aws_sdk_quicksight::Client;

use super::common::{emulator, failure, not_found, Failure, ACCOUNT};
use super::kinds::{all_folder_members, delete, describe, folder_members, Kind};

async fn analysis_status(qs: &Client, id: &str) -> (Option<ResourceStatus>, Option<ResourceStatus>) {
    let described = qs
        .describe_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(id)
        .send()
        .await
        .expect("describe analysis")
        .analysis()
        .and_then(|a| a.status().cloned());
    let listed = qs
        .list_analyses()
        .aws_account_id(ACCOUNT)
        .send()
        .await
        .expect("list analyses")
        .analysis_summary_list()
        .iter()
        .find(|s| s.analysis_id() == Some(id))
        .and_then(|s| s.status().cloned());
    (described, listed)
}

#[tokio::test]
async fn an_analysis_deleted_with_recovery_stays_visible_until_restored_or_forced() {
    let (_emu, qs) = emulator().await;
    let folders = all_folder_members(&qs).await;
    let analysis_arn = folders
        .iter()
        .flat_map(|(_, m)| m.iter())
        .find(|m| m.contains(":analysis/"))
        .cloned()
        .expect("an analysis in a folder");
    let id = analysis_arn.rsplit('/').next().unwrap_or_default().to_string();
    let before = analysis_status(&qs, &id).await;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let out = qs
        .delete_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .send()
        .await
        .expect("delete with the default window");
    let ends = out.deletion_time().expect("DeletionTime").secs();
    assert!((ends - now - 30 * 86_400).abs() < 120, "30 days from now: {ends}");
    assert_eq!(
        analysis_status(&qs, &id).await,
        (Some(ResourceStatus::Deleted), Some(ResourceStatus::Deleted))
    );
    // Still describable, definition included, until the window ends.
    let definition = qs
        .describe_analysis_definition()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .send()
        .await
        .expect("describe definition");
    assert_eq!(definition.resource_status(), Some(&ResourceStatus::Deleted));
    assert!(definition.definition().is_some_and(|d| !d.sheets().is_empty()));
    for (f, _) in &folders {
        assert!(
            !folder_members(&qs, f).await.contains(&analysis_arn),
            "still in folder {f}"
        );
    }

    let restored = qs
        .restore_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .restore_to_folders(true)
        .send()
        .await
        .expect("restore");
    assert!(restored.restoration_failed_folder_arns().is_empty());
    assert_eq!(analysis_status(&qs, &id).await, before);
    for (f, m) in &folders {
        if m.contains(&analysis_arn) {
            assert!(
                folder_members(&qs, f).await.contains(&analysis_arn),
                "not back in folder {f}"
            );
        }
    }
    let not_deleted = qs
        .restore_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .send()
        .await
        .map_err(failure);
    assert_eq!(
        not_deleted.err().map(|f| f.code),
        Some("PreconditionNotMetException".into())
    );

    let out = qs
        .delete_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .recovery_window_in_days(7)
        .send()
        .await
        .expect("delete with a 7-day window");
    let ends = out.deletion_time().expect("DeletionTime").secs();
    assert!((ends - now - 7 * 86_400).abs() < 120, "7 days from now: {ends}");

    let invalid = |f: Result<_, Failure>| f.err().map(|f| (f.code, f.status));
    let both = qs
        .delete_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .recovery_window_in_days(7)
        .force_delete_without_recovery(true)
        .send()
        .await
        .map_err(failure);
    assert_eq!(invalid(both), Some(("InvalidParameterValueException".into(), 400)));
    let short = qs
        .delete_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .recovery_window_in_days(6)
        .send()
        .await
        .map_err(failure);
    assert_eq!(invalid(short), Some(("InvalidParameterValueException".into(), 400)));

    // Forced, a deleted analysis goes at once, recovery window or not.
    delete(&qs, Kind::Analysis, &id).await.expect("force delete");
    assert_eq!(describe(&qs, Kind::Analysis, &id).await, Err(not_found()));
    let gone = qs
        .restore_analysis()
        .aws_account_id(ACCOUNT)
        .analysis_id(&id)
        .send()
        .await
        .map_err(failure);
    assert_eq!(gone.err(), Some(not_found()));
}
