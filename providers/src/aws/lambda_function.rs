//! lambda_function: the function in the VPC's private subnets. Create waits for State Active; updates
//! wait for LastUpdateStatus Successful. A new role that Lambda cannot assume yet is reported as
//! eventual consistency, so the engine retries CreateFunction within its budget.

use super::*;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Environment, FunctionCode, LastUpdateStatus, Runtime, State, VpcConfig,
};
use serde_json::json;

fn vpc_config(a: &JsonAttrs) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(strs(a, "subnets")))
        .set_security_group_ids(Some(strs(a, "security_groups")))
        .ipv6_allowed_for_dual_stack(b(a, "ipv6_dual_stack"))
        .build()
}

fn environment(a: &JsonAttrs) -> Environment {
    Environment::builder()
        .set_variables(Some(str_map(a, "environment").into_iter().collect()))
        .build()
}

fn code(req_code: &Option<std::sync::Arc<Vec<u8>>>) -> Result<Blob, ProviderError> {
    req_code
        .as_ref()
        .map(|c| Blob::new(c.as_slice().to_vec()))
        .ok_or_else(|| {
            ProviderError::new(ErrorKind::InvalidInput, "no code package for the function")
        })
}

/// FunctionConfiguration and GetFunctionConfigurationOutput have the same accessors.
macro_rules! function_obj {
    ($f:expr) => {{
        let f = $f;
        f.function_name().map(|name| {
            let mut a = JsonAttrs::new();
            a.insert("name".into(), json!(name));
            a.insert("arn".into(), json!(f.function_arn()));
            a.insert("runtime".into(), json!(f.runtime().map(|r| r.as_str())));
            a.insert("handler".into(), json!(f.handler()));
            a.insert("role".into(), json!(f.role()));
            a.insert("code_sha256".into(), json!(f.code_sha256()));
            a.insert("memory".into(), json!(f.memory_size()));
            a.insert("timeout".into(), json!(f.timeout()));
            let env: serde_json::Map<String, J> = f
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
                .unwrap_or_default();
            a.insert("environment".into(), J::Object(env));
            if let Some(v) = f.vpc_config() {
                let mut subnets: Vec<&str> = v.subnet_ids().iter().map(String::as_str).collect();
                subnets.sort();
                let mut sgs: Vec<&str> =
                    v.security_group_ids().iter().map(String::as_str).collect();
                sgs.sort();
                a.insert("subnets".into(), json!(subnets));
                a.insert("security_groups".into(), json!(sgs));
                a.insert(
                    "ipv6_dual_stack".into(),
                    json!(v.ipv6_allowed_for_dual_stack().unwrap_or(false)),
                );
            }
            obj(name, a)
        })
    }};
}

/// Waits until the function is Active and its last update Successful.
async fn wait_ready(
    p: &AwsProvider,
    name: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
) -> Result<ObjectState, ProviderError> {
    wait_for(
        p,
        "waiting for the function to be Active",
        addr,
        progress,
        Duration::from_secs(15 * 60),
        || async {
            let f = p
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| sdk("GetFunctionConfiguration", e))?;
            let state = f.state();
            let update = f.last_update_status();
            if matches!(state, Some(State::Failed))
                || matches!(update, Some(LastUpdateStatus::Failed))
            {
                return Err(ProviderError::new(
                    ErrorKind::Failed,
                    format!(
                        "function {name} failed: {}",
                        f.state_reason()
                            .or(f.last_update_status_reason())
                            .unwrap_or("no reason given")
                    ),
                ));
            }
            let ready = matches!(state, None | Some(State::Active))
                && matches!(update, None | Some(LastUpdateStatus::Successful));
            Ok(if ready { function_obj!(&f) } else { None })
        },
    )
    .await
}

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    let name = req_s(a, "name")?;
    let tags: std::collections::HashMap<String, String> = req
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let mut call = p
        .lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::from(req_s(a, "runtime")?))
        .handler(req_s(a, "handler")?)
        .role(req_s(a, "role")?)
        .code(FunctionCode::builder().zip_file(code(&req.code)?).build())
        .set_memory_size(i(a, "memory").map(|m| m as i32))
        .set_timeout(i(a, "timeout").map(|t| t as i32))
        .environment(environment(a))
        .set_tags(Some(tags));
    if !strs(a, "subnets").is_empty() {
        call = call.vpc_config(vpc_config(a));
    }
    if b(a, "detach_vpc_policy_after_create") {
        // Detached after an earlier create: Lambda needs it again to make the network interfaces.
        if let Some(role) = s(a, "role").and_then(|r| r.rsplit('/').next()) {
            p.iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(netplan_engine::schema::VPC_ACCESS_POLICY)
                .send()
                .await
                .map_err(|e| sdk("AttachRolePolicy", e))?;
        }
    }
    let ready = match call.send().await {
        // AWS answers Pending (the network interfaces take a minute or more); an emulator may answer
        // Active, and then there is nothing to wait for.
        Ok(f) => (matches!(f.state(), Some(State::Active))
            && matches!(
                f.last_update_status(),
                None | Some(LastUpdateStatus::Successful)
            ))
        .then(|| function_obj!(&f))
        .flatten(),
        Err(e) => {
            let mut e = sdk("CreateFunction", e);
            if e.kind == ErrorKind::EventualConsistency {
                // "cannot be assumed" means a new role still propagating (retry) — or no such role at all.
                let role = s(a, "role")
                    .and_then(|r| r.rsplit('/').next())
                    .unwrap_or_default();
                if let Err(ge) = p.iam.get_role().role_name(role).send().await {
                    if sdk("GetRole", ge).kind == ErrorKind::NotFound {
                        e.kind = ErrorKind::InvalidInput;
                        e.message = format!(
                            "{} (the role {} does not exist)",
                            e.message,
                            s(a, "role").unwrap_or_default()
                        );
                    }
                }
            }
            // A resumed create: the function exists and carries our address tag.
            let ours = e.code.as_deref() == Some("ResourceConflictException")
                && tagged_with(p, name, &req.address.to_string()).await;
            if !ours {
                return Err(e);
            }
            None
        }
    };
    let o = match ready {
        Some(o) => o,
        None => wait_ready(p, name, &req.address, &req.progress).await?,
    };
    if b(a, "detach_vpc_policy_after_create") {
        // Least privilege (the seed's advice): the VPC policy is needed to create the function's
        // network interfaces, not to run it.
        if let Some(role) = s(a, "role").and_then(|r| r.rsplit('/').next()) {
            let _ = p
                .iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(netplan_engine::schema::VPC_ACCESS_POLICY)
                .send()
                .await;
        }
    }
    Ok(o)
}

async fn tagged_with(p: &AwsProvider, name: &str, address: &str) -> bool {
    let Ok(f) = p.lambda.get_function().function_name(name).send().await else {
        return false;
    };
    f.tags()
        .is_some_and(|t| t.get("netplan:address").map(String::as_str) == Some(address))
}

/// Ids are function names. One paged ListFunctions for all of them, then each one's tags.
pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let mut pages = p.lambda.list_functions().into_paginator().send();
    let mut all = vec![];
    while let Some(page) = pages.next().await {
        all.extend(
            page.map_err(|e| sdk("ListFunctions", e))?
                .functions()
                .to_vec(),
        );
    }
    let mut out = vec![];
    for f in all {
        let Some(name) = f.function_name() else {
            continue;
        };
        let wanted = match &sel {
            Select::Ids(ids) => ids.iter().any(|i| i == name),
            Select::Tags { address, .. } => tagged_with(p, name, address).await,
        };
        if wanted {
            if let Some(o) = function_obj!(&f) {
                out.push((o, f.function_arn().map(str::to_string)));
            }
        }
    }
    // ListFunctions carries no tags: one ListTags per function, all at once.
    let tagged = out.into_iter().map(|(mut o, arn)| async move {
        if let Some(arn) = arn {
            let tags = p
                .lambda
                .list_tags()
                .resource(&arn)
                .send()
                .await
                .map_err(|e| sdk("ListTags", e))?;
            o.attrs.insert(
                "tags".into(),
                user_tags(
                    tags.tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                ),
            );
        }
        Ok::<_, ProviderError>(o)
    });
    futures::future::try_join_all(tagged).await
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.after;
    let name = &req.id;
    if req.changed.iter().any(|c| c == "code_sha256") {
        p.lambda
            .update_function_code()
            .function_name(name)
            .zip_file(code(&req.code)?)
            .send()
            .await
            .map_err(|e| sdk("UpdateFunctionCode", e))?;
        wait_ready(p, name, &req.address, &req.progress).await?;
    }
    let config_keys = [
        "runtime",
        "handler",
        "role",
        "memory",
        "timeout",
        "environment",
        "subnets",
        "security_groups",
        "ipv6_dual_stack",
    ];
    if req
        .changed
        .iter()
        .any(|c| config_keys.contains(&c.as_str()))
    {
        p.lambda
            .update_function_configuration()
            .function_name(name)
            .runtime(Runtime::from(req_s(a, "runtime")?))
            .handler(req_s(a, "handler")?)
            .role(req_s(a, "role")?)
            .set_memory_size(i(a, "memory").map(|m| m as i32))
            .set_timeout(i(a, "timeout").map(|t| t as i32))
            .environment(environment(a))
            .vpc_config(vpc_config(a))
            .send()
            .await
            .map_err(|e| sdk("UpdateFunctionConfiguration", e))?;
    }
    let o = wait_ready(p, name, &req.address, &req.progress).await?;
    if let Some(arn) = s(&o.attrs, "arn") {
        let current = p
            .lambda
            .list_tags()
            .resource(arn)
            .send()
            .await
            .map_err(|e| sdk("ListTags", e))?;
        let stale: Vec<String> = current
            .tags()
            .map(|t| {
                t.keys()
                    .filter(|k| !req.tags.contains_key(*k))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !stale.is_empty() {
            p.lambda
                .untag_resource()
                .resource(arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| sdk("UntagResource", e))?;
        }
        let tags: std::collections::HashMap<String, String> = req
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        p.lambda
            .tag_resource()
            .resource(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| sdk("TagResource", e))?;
    }
    Ok(o)
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    p.lambda
        .delete_function()
        .function_name(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteFunction", e))?;
    Ok(())
}

pub(super) async fn invoke(
    p: &AwsProvider,
    name: &str,
) -> Result<(i32, Option<String>, String), ProviderError> {
    let out = p
        .lambda
        .invoke()
        .function_name(name)
        .payload(Blob::new(b"{}".to_vec()))
        .send()
        .await
        .map_err(|e| sdk("Invoke", e))?;
    let payload = out
        .payload()
        .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
        .unwrap_or_default();
    Ok((
        out.status_code(),
        out.function_error().map(str::to_string),
        payload,
    ))
}
