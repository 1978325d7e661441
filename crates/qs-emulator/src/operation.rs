//! The QuickSight operations the emulator answers, by the service's own names.
//! The names are what fault plans key their rates by and what
//! `GET /_emulator/stats` counts calls under.

use serde::{Deserialize, Serialize};

use crate::model::AssetType;

/// One QuickSight API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Operation {
    StartAssetBundleExportJob,
    DescribeAssetBundleExportJob,
    ListAssetBundleExportJobs,
    StartAssetBundleImportJob,
    DescribeAssetBundleImportJob,
    ListAssetBundleImportJobs,
    ListDataSources,
    DescribeDataSource,
    ListDataSets,
    DescribeDataSet,
    ListAnalyses,
    DescribeAnalysis,
    DescribeAnalysisDefinition,
    ListDashboards,
    DescribeDashboard,
    DescribeDashboardDefinition,
    ListThemes,
    DescribeTheme,
    #[serde(rename = "ListVPCConnections")]
    ListVpcConnections,
    #[serde(rename = "DescribeVPCConnection")]
    DescribeVpcConnection,
    ListFolders,
    DescribeFolder,
    ListTopics,
    DescribeTopic,
    ListRefreshSchedules,
    DescribeFolderPermissions,
    DescribeDataSourcePermissions,
    DescribeDataSetPermissions,
    DescribeAnalysisPermissions,
    DescribeDashboardPermissions,
    DescribeThemePermissions,
    ListFolderMembers,
    ListNamespaces,
    CreateNamespace,
    DescribeNamespace,
    ListUsers,
    RegisterUser,
    DescribeUser,
    ListGroups,
    CreateGroup,
    DescribeGroup,
    ListGroupMemberships,
    CreateGroupMembership,
    DescribeAccountSettings,
    DescribeAccountCustomization,
    ListBrands,
    DescribeBrand,
    ListCustomPermissions,
    DeleteDataSource,
    DeleteDataSet,
    DeleteAnalysis,
    RestoreAnalysis,
    DeleteDashboard,
    DeleteTheme,
    #[serde(rename = "DeleteVPCConnection")]
    DeleteVpcConnection,
    DeleteFolder,
    DeleteFolderMembership,
    DeleteTopic,
    DeleteNamespace,
    DeleteUser,
    DeleteGroup,
    DeleteGroupMembership,
}

impl Operation {
    /// The service's name of the operation, as IAM actions and fault plans spell it.
    pub fn name(self) -> &'static str {
        use Operation::*;
        match self {
            StartAssetBundleExportJob => "StartAssetBundleExportJob",
            DescribeAssetBundleExportJob => "DescribeAssetBundleExportJob",
            ListAssetBundleExportJobs => "ListAssetBundleExportJobs",
            StartAssetBundleImportJob => "StartAssetBundleImportJob",
            DescribeAssetBundleImportJob => "DescribeAssetBundleImportJob",
            ListAssetBundleImportJobs => "ListAssetBundleImportJobs",
            ListDataSources => "ListDataSources",
            DescribeDataSource => "DescribeDataSource",
            ListDataSets => "ListDataSets",
            DescribeDataSet => "DescribeDataSet",
            ListAnalyses => "ListAnalyses",
            DescribeAnalysis => "DescribeAnalysis",
            DescribeAnalysisDefinition => "DescribeAnalysisDefinition",
            ListDashboards => "ListDashboards",
            DescribeDashboard => "DescribeDashboard",
            DescribeDashboardDefinition => "DescribeDashboardDefinition",
            ListThemes => "ListThemes",
            DescribeTheme => "DescribeTheme",
            ListVpcConnections => "ListVPCConnections",
            DescribeVpcConnection => "DescribeVPCConnection",
            ListFolders => "ListFolders",
            DescribeFolder => "DescribeFolder",
            ListTopics => "ListTopics",
            DescribeTopic => "DescribeTopic",
            ListRefreshSchedules => "ListRefreshSchedules",
            DescribeFolderPermissions => "DescribeFolderPermissions",
            DescribeDataSourcePermissions => "DescribeDataSourcePermissions",
            DescribeDataSetPermissions => "DescribeDataSetPermissions",
            DescribeAnalysisPermissions => "DescribeAnalysisPermissions",
            DescribeDashboardPermissions => "DescribeDashboardPermissions",
            DescribeThemePermissions => "DescribeThemePermissions",
            ListFolderMembers => "ListFolderMembers",
            ListNamespaces => "ListNamespaces",
            CreateNamespace => "CreateNamespace",
            DescribeNamespace => "DescribeNamespace",
            ListUsers => "ListUsers",
            RegisterUser => "RegisterUser",
            DescribeUser => "DescribeUser",
            ListGroups => "ListGroups",
            CreateGroup => "CreateGroup",
            DescribeGroup => "DescribeGroup",
            ListGroupMemberships => "ListGroupMemberships",
            CreateGroupMembership => "CreateGroupMembership",
            DescribeAccountSettings => "DescribeAccountSettings",
            DescribeAccountCustomization => "DescribeAccountCustomization",
            ListBrands => "ListBrands",
            DescribeBrand => "DescribeBrand",
            ListCustomPermissions => "ListCustomPermissions",
            DeleteDataSource => "DeleteDataSource",
            DeleteDataSet => "DeleteDataSet",
            DeleteAnalysis => "DeleteAnalysis",
            RestoreAnalysis => "RestoreAnalysis",
            DeleteDashboard => "DeleteDashboard",
            DeleteTheme => "DeleteTheme",
            DeleteVpcConnection => "DeleteVPCConnection",
            DeleteFolder => "DeleteFolder",
            DeleteFolderMembership => "DeleteFolderMembership",
            DeleteTopic => "DeleteTopic",
            DeleteNamespace => "DeleteNamespace",
            DeleteUser => "DeleteUser",
            DeleteGroup => "DeleteGroup",
            DeleteGroupMembership => "DeleteGroupMembership",
        }
    }

    /// The list operation of an asset type.
    pub fn list(t: AssetType) -> Operation {
        match t {
            AssetType::DataSource => Operation::ListDataSources,
            AssetType::DataSet => Operation::ListDataSets,
            AssetType::Analysis => Operation::ListAnalyses,
            AssetType::Dashboard => Operation::ListDashboards,
            AssetType::Theme => Operation::ListThemes,
            AssetType::VpcConnection => Operation::ListVpcConnections,
            AssetType::Folder => Operation::ListFolders,
            AssetType::Topic => Operation::ListTopics,
        }
    }

    /// The describe operation of an asset type.
    pub fn describe(t: AssetType) -> Operation {
        match t {
            AssetType::DataSource => Operation::DescribeDataSource,
            AssetType::DataSet => Operation::DescribeDataSet,
            AssetType::Analysis => Operation::DescribeAnalysis,
            AssetType::Dashboard => Operation::DescribeDashboard,
            AssetType::Theme => Operation::DescribeTheme,
            AssetType::VpcConnection => Operation::DescribeVpcConnection,
            AssetType::Folder => Operation::DescribeFolder,
            AssetType::Topic => Operation::DescribeTopic,
        }
    }

    /// The delete operation of an asset type.
    pub fn delete(t: AssetType) -> Operation {
        match t {
            AssetType::DataSource => Operation::DeleteDataSource,
            AssetType::DataSet => Operation::DeleteDataSet,
            AssetType::Analysis => Operation::DeleteAnalysis,
            AssetType::Dashboard => Operation::DeleteDashboard,
            AssetType::Theme => Operation::DeleteTheme,
            AssetType::VpcConnection => Operation::DeleteVpcConnection,
            AssetType::Folder => Operation::DeleteFolder,
            AssetType::Topic => Operation::DeleteTopic,
        }
    }

    /// User and group APIs, which only answer in the identity region.
    pub fn identity_region_only(self) -> bool {
        use Operation::*;
        matches!(
            self,
            ListUsers
                | RegisterUser
                | DescribeUser
                | ListGroups
                | CreateGroup
                | DescribeGroup
                | ListGroupMemberships
                | CreateGroupMembership
                | DeleteUser
                | DeleteGroup
                | DeleteGroupMembership
        )
    }

    /// Operations whose model declares `ResourceUnavailableException` (503).
    pub fn declares_unavailable(self) -> bool {
        use Operation::*;
        matches!(
            self,
            ListNamespaces
                | CreateNamespace
                | DescribeNamespace
                | ListUsers
                | ListGroups
                | ListGroupMemberships
                | DescribeUser
                | DescribeGroup
                | RegisterUser
                | CreateGroup
                | CreateGroupMembership
                | DescribeAccountSettings
                | DescribeAccountCustomization
                | ListCustomPermissions
                | DeleteNamespace
                | DeleteUser
                | DeleteGroup
                | DeleteGroupMembership
        )
    }

    /// The brand APIs, whose model declares `InternalServerException` for a 500.
    pub fn is_brand(self) -> bool {
        matches!(self, Operation::ListBrands | Operation::DescribeBrand)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_service_names() {
        for t in AssetType::ALL {
            for op in [Operation::list(t), Operation::describe(t), Operation::delete(t)] {
                assert_eq!(serde_json::to_value(op).unwrap(), serde_json::json!(op.name()));
            }
        }
        assert_eq!(
            serde_json::to_value(Operation::StartAssetBundleExportJob).unwrap(),
            serde_json::json!("StartAssetBundleExportJob")
        );
    }
}
