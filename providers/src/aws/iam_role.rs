//! iam_role: the execution role (trust policy for a service) and its managed policies. Roles netplan
//! creates live under the path /netplan/, so one ListRoles call refreshes all of them.

use super::*;
use serde_json::json;

const PATH: &str = "/netplan/";

fn trust_policy(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

fn iam_tags(tags: &JsonAttrs) -> Vec<aws_sdk_iam::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v.as_str().unwrap_or_default())
                .build()
                .ok()
        })
        .collect()
}

async fn policies(p: &AwsProvider, name: &str) -> Result<Vec<String>, ProviderError> {
    let out = p
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .map_err(|e| sdk("ListAttachedRolePolicies", e))?;
    let mut v: Vec<String> = out
        .attached_policies()
        .iter()
        .filter_map(|x| x.policy_arn().map(str::to_string))
        .collect();
    v.sort();
    Ok(v)
}

async fn converge_policies(
    p: &AwsProvider,
    name: &str,
    want: &[String],
) -> Result<(), ProviderError> {
    set_policies(p, name, &policies(p, name).await?, want).await
}

/// Detaches what the role has (`have`) and is not wanted, attaches what is wanted and missing.
async fn set_policies(
    p: &AwsProvider,
    name: &str,
    have: &[String],
    want: &[String],
) -> Result<(), ProviderError> {
    for arn in have.iter().filter(|a| !want.contains(a)) {
        p.iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk("DetachRolePolicy", e))?;
    }
    for arn in want.iter().filter(|a| !have.contains(a)) {
        p.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| sdk("AttachRolePolicy", e))?;
    }
    Ok(())
}

fn to_obj(r: &aws_sdk_iam::types::Role, policies: Vec<String>) -> ObjectState {
    let mut a = JsonAttrs::new();
    a.insert("name".into(), json!(r.role_name()));
    a.insert("arn".into(), json!(r.arn()));
    a.insert("managed_policies".into(), json!(policies));
    a.insert(
        "tags".into(),
        user_tags(r.tags().iter().map(|t| (t.key(), t.value()))),
    );
    obj(r.role_name(), a)
}

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    let name = req_s(a, "name")?;
    let created = p
        .iam
        .create_role()
        .role_name(name)
        .path(PATH)
        .assume_role_policy_document(trust_policy(
            s(a, "assume_service").unwrap_or("lambda.amazonaws.com"),
        ))
        .set_tags(Some(iam_tags(&req.tags)))
        .send()
        .await;
    match created {
        Ok(out) => {
            // A new role has no policies: attach what is wanted, and answer from what was sent.
            let mut want = strs(a, "managed_policies");
            want.sort();
            set_policies(p, name, &[], &want).await?;
            let role = out.role().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateRole returned no role")
            })?;
            let mut o = to_obj(role, want);
            o.attrs.insert(
                "tags".into(),
                user_tags(
                    req.tags
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
                ),
            );
            return Ok(o);
        }
        Err(e) => {
            let e = sdk("CreateRole", e);
            // A resumed create: the role is ours if it carries our address tag.
            let ours = e.code.as_deref() == Some("EntityAlreadyExists")
                && describe(p, Select::Ids(vec![name.to_string()]))
                    .await?
                    .first()
                    .is_some_and(|_| true)
                && p.iam
                    .list_role_tags()
                    .role_name(name)
                    .send()
                    .await
                    .map(|t| {
                        t.tags().iter().any(|t| {
                            t.key() == "netplan:address" && t.value() == req.address.to_string()
                        })
                    })
                    .unwrap_or(false);
            if !ours {
                return Err(e);
            }
        }
    }
    converge_policies(p, name, &strs(a, "managed_policies")).await?;
    describe(p, Select::Ids(vec![name.to_string()]))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::EventualConsistency,
                format!("role {name} not visible yet"),
            )
        })
}

/// Every role of the account with its attached policies and tags, in one paged call
/// (GetAccountAuthorizationDetails, roles only): `None` when the caller may not make it.
async fn account_roles(p: &AwsProvider) -> Result<Option<Vec<ObjectState>>, ProviderError> {
    let mut pages = p
        .iam
        .get_account_authorization_details()
        .filter(aws_sdk_iam::types::EntityType::Role)
        .into_paginator()
        .send();
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let e = sdk("GetAccountAuthorizationDetails", e);
                if e.code
                    .as_deref()
                    .is_some_and(|c| c.contains("AccessDenied"))
                    || e.kind == ErrorKind::Other
                {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        for r in page.role_detail_list() {
            let Some(name) = r.role_name() else { continue };
            let mut policies: Vec<String> = r
                .attached_managed_policies()
                .iter()
                .filter_map(|x| x.policy_arn().map(str::to_string))
                .collect();
            policies.sort();
            let mut a = JsonAttrs::new();
            a.insert("name".into(), json!(name));
            a.insert("arn".into(), json!(r.arn()));
            a.insert("managed_policies".into(), json!(policies));
            a.insert(
                "tags".into(),
                user_tags(r.tags().iter().map(|t| (t.key(), t.value()))),
            );
            out.push(obj(name, a));
        }
    }
    Ok(Some(out))
}

/// Ids are role names. One paged GetAccountAuthorizationDetails gives every role with its policies and
/// tags; without that permission, ListRoles (path /netplan/), GetRole for roles elsewhere (`existing`
/// ones), then the tags and attached policies of each.
pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    if let Select::Ids(names) = &sel {
        if let Some(all) = account_roles(p).await? {
            return Ok(all.into_iter().filter(|o| names.contains(&o.id)).collect());
        }
    }
    let mut roles = vec![];
    match &sel {
        Select::Ids(names) => {
            let mut pages = p.iam.list_roles().path_prefix(PATH).into_paginator().send();
            let mut listed = vec![];
            while let Some(page) = pages.next().await {
                listed.extend(page.map_err(|e| sdk("ListRoles", e))?.roles().to_vec());
            }
            for name in names {
                match listed.iter().find(|r| r.role_name() == name) {
                    Some(r) => roles.push(r.clone()),
                    None => match p.iam.get_role().role_name(name).send().await {
                        Ok(o) => roles.extend(o.role().cloned()),
                        Err(e) => {
                            let e = sdk("GetRole", e);
                            if e.kind != ErrorKind::NotFound {
                                return Err(e);
                            }
                        }
                    },
                }
            }
        }
        Select::Tags { address, .. } => {
            let mut pages = p.iam.list_roles().path_prefix(PATH).into_paginator().send();
            while let Some(page) = pages.next().await {
                for r in page.map_err(|e| sdk("ListRoles", e))?.roles() {
                    let tags = p
                        .iam
                        .list_role_tags()
                        .role_name(r.role_name())
                        .send()
                        .await
                        .map_err(|e| sdk("ListRoleTags", e))?;
                    if tags
                        .tags()
                        .iter()
                        .any(|t| t.key() == "netplan:address" && t.value() == address)
                    {
                        roles.push(r.clone());
                    }
                }
            }
        }
    }
    let mut out = vec![];
    for r in roles {
        // ListRoles does not return tags: read them with the policies.
        let tags = p
            .iam
            .list_role_tags()
            .role_name(r.role_name())
            .send()
            .await
            .map_err(|e| sdk("ListRoleTags", e))?;
        let mut o = to_obj(&r, policies(p, r.role_name()).await?);
        o.attrs.insert(
            "tags".into(),
            user_tags(tags.tags().iter().map(|t| (t.key(), t.value()))),
        );
        out.push(o);
    }
    Ok(out)
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    converge_policies(p, &req.id, &strs(&req.after, "managed_policies")).await?;
    let current = p
        .iam
        .list_role_tags()
        .role_name(&req.id)
        .send()
        .await
        .map_err(|e| sdk("ListRoleTags", e))?;
    let stale: Vec<String> = current
        .tags()
        .iter()
        .map(|t| t.key().to_string())
        .filter(|k| !req.tags.contains_key(k))
        .collect();
    if !stale.is_empty() {
        p.iam
            .untag_role()
            .role_name(&req.id)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(|e| sdk("UntagRole", e))?;
    }
    p.iam
        .tag_role()
        .role_name(&req.id)
        .set_tags(Some(iam_tags(&req.tags)))
        .send()
        .await
        .map_err(|e| sdk("TagRole", e))?;
    read_back(p, Kind::IamRole, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    converge_policies(p, &req.id, &[]).await?;
    p.iam
        .delete_role()
        .role_name(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteRole", e))?;
    Ok(())
}
