//! QuickSight ARNs as a restore reads and rewrites them:
//! `arn:<partition>:quicksight:<region>:<account>:<kind>/<rest>`, where `<kind>` is an asset
//! type (`dataset/<id>`, `dataset/<id>/refresh-schedule/<sid>`), `user/<ns>/<name>`,
//! `group/<ns>/<name>` or `namespace/<ns>`.

use super::AssetKey;
use crate::asset::AssetType;

/// A parsed QuickSight ARN, borrowing from the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QsArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub kind: &'a str,
    /// Everything after `<kind>/`.
    pub rest: &'a str,
}

impl<'a> QsArn<'a> {
    pub fn parse(s: &'a str) -> Option<QsArn<'a>> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        if parts.next()? != "quicksight" {
            return None;
        }
        let region = parts.next()?;
        let account = parts.next()?;
        let (kind, rest) = parts.next()?.split_once('/')?;
        if rest.is_empty() || account.is_empty() {
            return None;
        }
        Some(QsArn {
            partition,
            region,
            account,
            kind,
            rest,
        })
    }

    /// The same ARN in another region (and that region's partition) and account with another
    /// `<rest>`.
    pub fn with(&self, region: &str, account: &str, rest: &str) -> String {
        format!(
            "arn:{}:quicksight:{region}:{account}:{}/{rest}",
            crate::config::partition(region),
            self.kind
        )
    }
}

/// The asset an ARN names, if it names one.
pub fn asset_ref(arn: &QsArn) -> Option<AssetKey> {
    let t = AssetType::from_name(arn.kind)?;
    let id = arn.rest.split('/').next().filter(|id| !id.is_empty())?;
    Some(AssetKey::new(t, id))
}

/// A principal (`user/<ns>/<name>` or `group/<ns>/<name>`) an ARN names.
pub fn principal_ref<'a>(arn: &QsArn<'a>) -> Option<(PrincipalKind, &'a str, &'a str)> {
    let kind = match arn.kind {
        "user" => PrincipalKind::User,
        "group" => PrincipalKind::Group,
        _ => return None,
    };
    let (ns, name) = arn.rest.split_once('/')?;
    (!ns.is_empty() && !name.is_empty()).then_some((kind, ns, name))
}

/// Users and groups are the principals of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    User,
    Group,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
        }
    }
}

/// The ARN of a principal.
pub fn principal_arn(
    partition: &str,
    region: &str,
    account: &str,
    kind: PrincipalKind,
    ns: &str,
    name: &str,
) -> String {
    format!(
        "arn:{partition}:quicksight:{region}:{account}:{}/{ns}/{name}",
        kind.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse_and_move() {
        let a = QsArn::parse("arn:aws:quicksight:us-east-1:123456789012:dataset/d1/refresh-schedule/s1").unwrap();
        assert_eq!(
            (a.region, a.account, a.kind, a.rest),
            ("us-east-1", "123456789012", "dataset", "d1/refresh-schedule/s1")
        );
        assert_eq!(asset_ref(&a).unwrap().to_string(), "dataset/d1");
        assert_eq!(
            a.with("eu-west-1", "210987654321", "x-d1/refresh-schedule/s1"),
            "arn:aws:quicksight:eu-west-1:210987654321:dataset/x-d1/refresh-schedule/s1"
        );
        let u = QsArn::parse("arn:aws:quicksight:us-east-1:1:user/default/QuickSightRole/ana").unwrap();
        assert_eq!(
            principal_ref(&u),
            Some((PrincipalKind::User, "default", "QuickSightRole/ana"))
        );
        assert!(asset_ref(&u).is_none());
        assert!(QsArn::parse("arn:aws:iam::1:role/x").is_none());
        assert!(QsArn::parse("not an arn").is_none());
    }
}
