//! iam_role: the execution role (trust policy for a service) and its managed policies. Roles netplan
//! creates live under the path /netplan/. The name is unique in the account: a create answered
//! EntityAlreadyExists adopts the role only if it carries this stack's and this address's tags, and
//! otherwise names the role that is in the way.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, AwsProvider};
use async_trait::async_trait;
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::json;

pub(super) struct IamRole;

const PATH: &str = "/netplan/";

fn trust_policy(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

fn iam_tags(tags: &[(String, String)]) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

fn pairs(tags: &JsonAttrs) -> Vec<(String, String)> {
    tags.iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

async fn policies(p: &AwsProvider, name: &str) -> Result<Vec<String>, ProviderError> {
    let out = p
        .api
        .send(
            Call::iam("ListAttachedRolePolicies", Effect::Read).on([name]),
            || p.iam.list_attached_role_policies().role_name(name).send(),
        )
        .await?;
    let mut v: Vec<String> = out
        .attached_policies()
        .iter()
        .filter_map(|x| x.policy_arn().map(str::to_string))
        .collect();
    v.sort();
    Ok(v)
}

async fn role_tags(p: &AwsProvider, name: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let out = p
        .api
        .send(Call::iam("ListRoleTags", Effect::Read).on([name]), || {
            p.iam.list_role_tags().role_name(name).send()
        })
        .await?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

async fn converge_policies(
    p: &AwsProvider,
    name: &str,
    want: &[String],
) -> Result<(), ProviderError> {
    set_policies(p, name, &policies(p, name).await?, want).await
}

/// Attaches what is wanted and missing, then detaches what the role has (`have`) and is not wanted:
/// a role never holds less than both sets share, even when an attach is refused.
async fn set_policies(
    p: &AwsProvider,
    name: &str,
    have: &[String],
    want: &[String],
) -> Result<(), ProviderError> {
    for arn in want.iter().filter(|a| !have.contains(a)) {
        attach_policy(p, name, arn).await?;
    }
    for arn in have.iter().filter(|a| !want.contains(a)) {
        p.api
            .ensure(
                Call::iam("DetachRolePolicy", Effect::Repeatable).on([name]),
                &["NoSuchEntity"],
                || {
                    p.iam
                        .detach_role_policy()
                        .role_name(name)
                        .policy_arn(arn)
                        .send()
                },
            )
            .await?;
    }
    Ok(())
}

/// Attaching a policy twice is no error in IAM: safe to repeat.
pub(super) async fn attach_policy(
    p: &AwsProvider,
    role: &str,
    arn: &str,
) -> Result<(), ProviderError> {
    p.api
        .send(
            Call::iam("AttachRolePolicy", Effect::Repeatable).on([role]),
            || {
                p.iam
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
            },
        )
        .await
        .map(|_| ())
}

fn role_object(
    name: &str,
    arn: Option<&str>,
    policies: Vec<String>,
    tags: &[(String, String)],
) -> ObjectState {
    let mut a = JsonAttrs::new();
    a.insert("name".into(), json!(name));
    a.insert("arn".into(), json!(arn));
    a.insert("managed_policies".into(), json!(policies));
    a.insert(
        "tags".into(),
        user_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    object(name, a).owned_by(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Every role of the account with its attached policies and tags, in one paged call
/// (GetAccountAuthorizationDetails, roles only): `None` when the caller may not make it.
async fn account_roles(
    p: &AwsProvider,
) -> Result<Option<Vec<(ObjectState, Vec<(String, String)>)>>, ProviderError> {
    let result = all_pages(
        p,
        Call::iam("GetAccountAuthorizationDetails", Effect::Read),
        |marker| {
            p.iam
                .get_account_authorization_details()
                .filter(aws_sdk_iam::types::EntityType::Role)
                .set_marker(marker)
                .send()
        },
        |o| o.role_detail_list().to_vec(),
        |o| o.marker().map(str::to_string),
    )
    .await;
    let roles = match result {
        Ok(r) => r,
        Err(e)
            if e.code
                .as_deref()
                .is_some_and(|c| c.contains("AccessDenied"))
                || matches!(e.kind, ErrorKind::Other | ErrorKind::Denied) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    Ok(Some(
        roles
            .iter()
            .filter_map(|r| {
                let name = r.role_name()?;
                let mut policies: Vec<String> = r
                    .attached_managed_policies()
                    .iter()
                    .filter_map(|x| x.policy_arn().map(str::to_string))
                    .collect();
                policies.sort();
                let tags: Vec<(String, String)> = r
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                Some((role_object(name, r.arn(), policies, &tags), tags))
            })
            .collect(),
    ))
}

#[async_trait]
impl AwsKind for IamRole {
    /// Ids are role names. One paged GetAccountAuthorizationDetails gives every role with its policies
    /// and tags; without that permission, ListRoles (path /netplan/) or GetRole, then each one's tags
    /// and attached policies.
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let wanted = |o: &ObjectState, tags: &[(String, String)]| match sel {
            Select::Ids(names) => names.contains(&o.id),
            Select::Tags { .. } => sel.keeps(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        };
        if let Some(all) = account_roles(p).await? {
            return Ok(all
                .into_iter()
                .filter(|(o, tags)| wanted(o, tags))
                .map(|(o, _)| o)
                .collect());
        }
        let mut roles: Vec<aws_sdk_iam::types::Role> = vec![];
        match sel {
            Select::Ids(names) => {
                for name in names {
                    match p
                        .api
                        .send(Call::iam("GetRole", Effect::Read).on([name]), || {
                            p.iam.get_role().role_name(name).send()
                        })
                        .await
                    {
                        Ok(o) => roles.extend(o.role().cloned()),
                        Err(e) if e.kind == ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Select::Tags { .. } => {
                roles = all_pages(
                    p,
                    Call::iam("ListRoles", Effect::Read),
                    |marker| {
                        p.iam
                            .list_roles()
                            .path_prefix(PATH)
                            .set_marker(marker)
                            .send()
                    },
                    |o| o.roles().to_vec(),
                    |o| o.marker().map(str::to_string),
                )
                .await?;
            }
        }
        let mut out = vec![];
        for r in roles {
            let tags = role_tags(p, r.role_name()).await?;
            let o = role_object(r.role_name(), Some(r.arn()), vec![], &tags);
            if !wanted(&o, &tags) {
                continue;
            }
            let mut o = o;
            o.attrs.insert(
                "managed_policies".into(),
                json!(policies(p, r.role_name()).await?),
            );
            out.push(o);
        }
        Ok(out)
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let name = required(a, "name")?;
        let tags = create_tags(req);
        let mut want = texts(a, "managed_policies");
        want.sort();
        let made = create_once(p, self, req, || async {
            let result = p
                .api
                .send(Call::iam("CreateRole", Effect::Once).on([name]), || {
                    p.iam
                        .create_role()
                        .role_name(name)
                        .path(PATH)
                        .assume_role_policy_document(trust_policy(
                            text(a, "assume_service").unwrap_or("lambda.amazonaws.com"),
                        ))
                        .set_tags(Some(iam_tags(&tags)))
                        .send()
                })
                .await;
            match result {
                Ok(out) => {
                    let role = out.role().ok_or_else(|| {
                        ProviderError::new(ErrorKind::Other, "CreateRole returned no role")
                    })?;
                    Ok(role_object(
                        name,
                        Some(role.arn()),
                        vec![],
                        &pairs(&req.tags),
                    ))
                }
                Err(e) if e.code.as_deref() == Some("EntityAlreadyExists") => {
                    adopt_if_ours(p, req, name, e).await
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        // A new role has no policies; one an earlier attempt made may have some of them.
        let have = if made
            .attrs
            .get("managed_policies")
            .is_some_and(|v| v.as_array().is_some_and(|l| !l.is_empty()))
        {
            policies(p, name).await?
        } else {
            vec![]
        };
        set_policies(p, name, &have, &want).await?;
        Ok(role_object(
            name,
            text(&made.attrs, "arn"),
            want,
            &pairs(&req.tags),
        ))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        converge_policies(p, &req.id, &texts(&req.after, "managed_policies")).await?;
        let current = role_tags(p, &req.id).await?;
        let stale: Vec<String> = current
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !req.tags.contains_key(k) && k != TOKEN_TAG)
            .collect();
        if !stale.is_empty() {
            p.api
                .send(
                    Call::iam("UntagRole", Effect::Repeatable).on([&req.id]),
                    || {
                        p.iam
                            .untag_role()
                            .role_name(&req.id)
                            .set_tag_keys(Some(stale.clone()))
                            .send()
                    },
                )
                .await?;
        }
        p.api
            .send(
                Call::iam("TagRole", Effect::Repeatable).on([&req.id]),
                || {
                    p.iam
                        .tag_role()
                        .role_name(&req.id)
                        .set_tags(Some(iam_tags(&pairs(&req.tags))))
                        .send()
                },
            )
            .await?;
        read_back(p, Kind::IamRole, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        converge_policies(p, &req.id, &[]).await?;
        p.api
            .send(
                Call::iam("DeleteRole", Effect::Delete).on([&req.id]),
                || p.iam.delete_role().role_name(&req.id).send(),
            )
            .await?;
        Ok(())
    }
}

/// The name is taken. The role is this address's if it carries this stack's and address's tags (an
/// earlier attempt, or a killed run, made it); anything else is named and left alone.
async fn adopt_if_ours(
    p: &AwsProvider,
    req: &CreateRequest,
    name: &str,
    e: ProviderError,
) -> Result<ObjectState, ProviderError> {
    let tags = role_tags(p, name).await?;
    let mine = Select::Tags {
        stack: req.idempotency.stack.clone(),
        address: req.address.to_string(),
        token: None,
    };
    if !mine.keeps(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        let owner = tags
            .iter()
            .find(|(k, _)| k == "netplan:stack")
            .map(|(_, v)| format!("netplan stack `{v}`"))
            .unwrap_or_else(|| "not made by netplan".into());
        return Err(ProviderError {
            kind: ErrorKind::InvalidInput,
            message: format!(
                "{} — the IAM role `{name}` exists and is not {}'s ({owner}): give this role another `name`, or remove the other one",
                e.message, req.address
            ),
            ..e
        });
    }
    let role = p
        .api
        .send(Call::iam("GetRole", Effect::Read).on([name]), || {
            p.iam.get_role().role_name(name).send()
        })
        .await?;
    let mut o = role_object(name, role.role().map(|r| r.arn()), vec![], &tags);
    o.attrs
        .insert("managed_policies".into(), json!(policies(p, name).await?));
    Ok(o)
}
