//! Deleting each asset type, what a deleted dashboard and dataset leave
//! behind, and `DeleteFolder` on a folder that is not empty.

use super::common::{emulator, failure, not_found, stats, Failure, ACCOUNT};
use super::kinds::{all_folder_members, delete, describe, empty_folder, folder_members, ids, Kind, KINDS};

#[tokio::test]
async fn each_asset_type_deleted_is_gone_and_a_second_delete_is_not_found() {
    let (emu, qs) = emulator().await;
    let folders_before = ids(&qs, Kind::Folder).await.len();
    for kind in KINDS {
        let all = ids(&qs, kind).await;
        let id = all
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("the small profile has a {kind:?}"));
        // A folder goes once it is empty.
        if kind == Kind::Folder {
            empty_folder(&qs, &id).await;
        }
        describe(&qs, kind, &id).await.expect("describe before delete");
        let arn = delete(&qs, kind, &id).await.expect("delete");
        assert!(arn.ends_with(&format!("/{id}")), "{kind:?} delete names {arn}");
        assert_eq!(describe(&qs, kind, &id).await, Err(not_found()), "{kind:?} {id}");
        assert!(!ids(&qs, kind).await.contains(&id), "{kind:?} {id} still listed");
        assert_eq!(delete(&qs, kind, &id).await, Err(not_found()), "{kind:?} {id} again");
        assert_eq!(
            delete(&qs, kind, "no-such-asset").await,
            Err(not_found()),
            "{kind:?} missing"
        );
    }
    // Each type: one delete that worked and two that found nothing; the
    // subfolders an emptied folder held were deleted on the way.
    let folders_deleted = folders_before - ids(&qs, Kind::Folder).await.len();
    let s = stats(&emu.endpoint()).await;
    for (op, worked) in [
        ("DeleteDashboard", 1),
        ("DeleteAnalysis", 1),
        ("DeleteTopic", 1),
        ("DeleteDataSet", 1),
        ("DeleteDataSource", 1),
        ("DeleteTheme", 1),
        ("DeleteVPCConnection", 1),
        ("DeleteFolder", folders_deleted),
    ] {
        assert_eq!(s["calls"][op], worked + 2, "{op} counted: {}", s["calls"]);
    }
    assert!(s["calls"]["DeleteFolderMembership"].as_u64() > Some(0));
}

#[tokio::test]
async fn a_deleted_dashboard_leaves_its_folders_and_a_folder_goes_only_when_empty() {
    let (_emu, qs) = emulator().await;
    let folders = all_folder_members(&qs).await;
    let (folder, dashboard_arn) = folders
        .iter()
        .filter(|(_, members)| members.len() >= 2)
        .find_map(|(f, members)| {
            members
                .iter()
                .find(|m| m.contains(":dashboard/"))
                .map(|m| (f.clone(), m.clone()))
        })
        .expect("a folder holding a dashboard and more");
    let dashboard = dashboard_arn.rsplit('/').next().unwrap_or_default().to_string();
    delete(&qs, Kind::Dashboard, &dashboard)
        .await
        .expect("delete dashboard");
    for (f, _) in &folders {
        assert!(
            !folder_members(&qs, f).await.contains(&dashboard_arn),
            "{dashboard_arn} still in folder {f}"
        );
    }

    // The folder still holds other things: DeleteFolder refuses it.
    let refused = delete(&qs, Kind::Folder, &folder).await.expect_err("non-empty folder");
    assert_eq!(
        refused,
        Failure {
            code: "PreconditionNotMetException".into(),
            status: 400
        }
    );
    // Emptied (subfolders deleted, members taken out), it goes.
    empty_folder(&qs, &folder).await;
    delete(&qs, Kind::Folder, &folder).await.expect("empty folder deleted");
}

#[tokio::test]
async fn a_deleted_dataset_takes_its_refresh_schedules() {
    let (_emu, qs) = emulator().await;
    let mut with_schedules = None;
    for id in ids(&qs, Kind::DataSet).await {
        let r = qs
            .list_refresh_schedules()
            .aws_account_id(ACCOUNT)
            .data_set_id(&id)
            .send()
            .await
            .expect("list refresh schedules");
        if !r.refresh_schedules().is_empty() {
            with_schedules = Some(id);
            break;
        }
    }
    let id = with_schedules.expect("a dataset with refresh schedules");
    delete(&qs, Kind::DataSet, &id).await.expect("delete dataset");
    let after = qs
        .list_refresh_schedules()
        .aws_account_id(ACCOUNT)
        .data_set_id(&id)
        .send()
        .await
        .map_err(failure);
    assert_eq!(after.err(), Some(not_found()));
}
