//! lambda_function: the function in the VPC's private subnets. Create waits for State Active (a minute
//! or more on AWS while Lambda makes the network interfaces; `Failed` is reported with its reason);
//! updates wait for LastUpdateStatus Successful, and a write while the function is busy is retried by the
//! request layer. A new role Lambda cannot assume yet, or whose VPC policy is not effective yet, is
//! eventual consistency: the engine retries the create within its budget. The name is unique: a
//! function found under it is adopted only if it carries this stack's and this address's tags.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::AwsProvider;
use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Environment, FunctionCode, LastUpdateStatus, Runtime, State, VpcConfig,
};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::ResourceAddr;
use serde_json::{json, Value as J};
use std::collections::HashMap;
use std::time::Duration;

pub(super) struct LambdaFunction;

fn vpc_config(a: &JsonAttrs) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(texts(a, "subnets")))
        .set_security_group_ids(Some(texts(a, "security_groups")))
        .ipv6_allowed_for_dual_stack(flag(a, "ipv6_dual_stack"))
        .build()
}

fn environment(a: &JsonAttrs) -> Environment {
    Environment::builder()
        .set_variables(Some(text_map(a, "environment").into_iter().collect()))
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
            object(name, a)
        })
    }};
}

/// Waits until the function is Active and its last update Successful. `changing`: Lambda has just
/// answered a create or update (so it is Pending or InProgress): the first look is a pause away, and
/// looks are at least that far apart.
async fn wait_ready(
    p: &AwsProvider,
    name: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
    changing: bool,
) -> Result<ObjectState, ProviderError> {
    super::wait::wait_changing(
        p,
        changing,
        "waiting for the function to be Active",
        addr,
        progress,
        netplan_engine::retry::WAIT,
        || async {
            // GetFunction, not GetFunctionConfiguration: Lambda allows it 100 requests a second
            // (the rest of the control plane shares 15), so forty functions waited on at once are
            // seen Active when they are.
            let out = get_function(p, name).await?;
            let Some(f) = out.configuration() else {
                return Ok(None);
            };
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

fn role_name(a: &JsonAttrs) -> Option<&str> {
    text(a, "role").and_then(|r| r.rsplit('/').next())
}

async fn function_tags(
    p: &AwsProvider,
    arn: &str,
) -> Result<HashMap<String, String>, ProviderError> {
    let out = p
        .api
        .send(Call::lambda("ListTags", Effect::Read).on([arn]), || {
            p.lambda.list_tags().resource(arn).send()
        })
        .await?;
    Ok(out.tags().cloned().unwrap_or_default())
}

/// GetFunction: the configuration and the tags in one call, on Lambda's 100/s quota.
async fn get_function(
    p: &AwsProvider,
    name: &str,
) -> Result<aws_sdk_lambda::operation::get_function::GetFunctionOutput, ProviderError> {
    p.api
        .send(Call::lambda("GetFunction", Effect::Read).on([name]), || {
            p.lambda.get_function().function_name(name).send()
        })
        .await
}

/// A function read with its tags: the user's tags as the `tags` attribute, the owner from netplan's.
fn tagged(mut o: ObjectState, tags: &HashMap<String, String>) -> ObjectState {
    let pairs = || tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    o.attrs.insert("tags".into(), user_tags(pairs()));
    o.owned_by(pairs())
}

/// The name is taken: the function is this address's if it carries this stack's and address's tags;
/// anything else is named and left alone.
async fn adopt_if_ours(
    p: &AwsProvider,
    req: &CreateRequest,
    name: &str,
    e: ProviderError,
) -> Result<ObjectState, ProviderError> {
    let f = get_function(p, name).await?;
    let tags = f.tags().cloned().unwrap_or_default();
    let mine = Select::Tags {
        stack: req.idempotency.stack.clone(),
        address: req.address.to_string(),
        token: None,
    };
    if !mine.keeps(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        let owner = tags
            .get("netplan:stack")
            .map(|s| format!("netplan stack `{s}`"))
            .unwrap_or_else(|| "not made by netplan".into());
        return Err(ProviderError {
            kind: ErrorKind::InvalidInput,
            message: format!(
                "{} — the Lambda function `{name}` exists and is not {}'s ({owner}): give this function another `name`, or remove the other one",
                e.message, req.address
            ),
            ..e
        });
    }
    f.configuration()
        .and_then(|c| function_obj!(c))
        .ok_or_else(|| {
            ProviderError::new(ErrorKind::Other, "GetFunction returned no configuration")
        })
}

#[async_trait]
impl AwsKind for LambdaFunction {
    /// Ids are function names. One paged ListFunctions for all of them, then each one's tags (all at
    /// once).
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let all = all_pages(
            p,
            Call::lambda("ListFunctions", Effect::Read),
            |marker| p.lambda.list_functions().set_marker(marker).send(),
            |o| o.functions().to_vec(),
            |o| o.next_marker().map(str::to_string),
        )
        .await?;
        let candidates: Vec<(ObjectState, Option<String>)> = all
            .iter()
            .filter(|f| match sel {
                Select::Ids(ids) => f
                    .function_name()
                    .is_some_and(|n| ids.iter().any(|i| i == n)),
                Select::Tags { .. } => true,
            })
            .filter_map(|f| function_obj!(f).map(|o| (o, f.function_arn().map(str::to_string))))
            .collect();
        let read = candidates.into_iter().map(|(o, arn)| async move {
            let tags = match &arn {
                Some(arn) => function_tags(p, arn).await?,
                None => HashMap::new(),
            };
            let keep = sel.keeps(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            Ok::<_, ProviderError>(keep.then(|| tagged(o, &tags)))
        });
        Ok(futures::future::try_join_all(read)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Function names are unique: one GetFunction (with the tags) says whether an earlier attempt made
    /// it — not a ListFunctions and every function's tags, which forty retried creates would each pay.
    async fn made_before(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<Option<ObjectState>, ProviderError> {
        let name = required(&req.attrs, "name")?;
        let out = match get_function(p, name).await {
            Ok(out) => out,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(o) = out.configuration().and_then(|f| function_obj!(f)) else {
            return Ok(None);
        };
        let tags = out.tags().cloned().unwrap_or_default();
        if !Select::made_by(&req.idempotency)
            .keeps(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            // Someone else's function of that name: the create says so (never an adoption).
            return Ok(None);
        }
        Ok(Some(tagged(o, &tags)))
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let name = required(a, "name")?;
        let (runtime, handler, role) = (
            required(a, "runtime")?,
            required(a, "handler")?,
            required(a, "role")?,
        );
        let zip = code(&req.code)?;
        let tags: HashMap<String, String> = create_tags(req).into_iter().collect();
        let detach_after = flag(a, "detach_vpc_policy_after_create");
        if detach_after {
            // Detached after an earlier create: Lambda needs it again to make the network interfaces.
            if let Some(role) = role_name(a) {
                super::iam_role::attach_policy(p, role, netplan_engine::schema::VPC_ACCESS_POLICY)
                    .await?;
            }
        }
        let made = create_once(p, self, req, || async {
            let result = p
                .api
                .send(
                    Call::lambda("CreateFunction", Effect::Once).on([name]),
                    || {
                        let mut call = p
                            .lambda
                            .create_function()
                            .function_name(name)
                            .runtime(Runtime::from(runtime))
                            .handler(handler)
                            .role(role)
                            .code(FunctionCode::builder().zip_file(zip.clone()).build())
                            .set_memory_size(int(a, "memory").map(|m| m as i32))
                            .set_timeout(int(a, "timeout").map(|t| t as i32))
                            .environment(environment(a))
                            .set_tags(Some(tags.clone()));
                        if !texts(a, "subnets").is_empty() {
                            call = call.vpc_config(vpc_config(a));
                        }
                        call.send()
                    },
                )
                .await;
            match result {
                // AWS answers Pending (the network interfaces take a minute or more); an emulator may
                // answer Active, and then there is nothing to wait for.
                Ok(f) => {
                    let mut o = function_obj!(&f).ok_or_else(|| {
                        ProviderError::new(ErrorKind::Other, "CreateFunction returned no name")
                    })?;
                    let ready = matches!(f.state(), Some(State::Active))
                        && matches!(
                            f.last_update_status(),
                            None | Some(LastUpdateStatus::Successful)
                        );
                    o.attrs.insert("ready".into(), json!(ready));
                    Ok(o)
                }
                Err(mut e) => {
                    if e.kind == ErrorKind::EventualConsistency
                        && e.message.contains("cannot be assumed")
                    {
                        // A new role still propagating (retried) — or no such role at all (final).
                        if let Some(role) = role_name(a) {
                            let exists = p
                                .api
                                .send(Call::iam("GetRole", Effect::Read).on([role]), || {
                                    p.iam.get_role().role_name(role).send()
                                })
                                .await;
                            if matches!(&exists, Err(g) if g.kind == ErrorKind::NotFound) {
                                e.kind = ErrorKind::InvalidInput;
                                e.message =
                                    format!("{} (the role {role} does not exist)", e.message);
                            }
                        }
                    }
                    if e.code.as_deref() == Some("ResourceConflictException")
                        && e.message.contains("already exist")
                    {
                        return adopt_if_ours(p, req, name, e).await;
                    }
                    if e.message
                        .contains("availability zone Lambda doesn't support")
                    {
                        e.kind = ErrorKind::InvalidInput;
                        e.message = format!(
                            "{} — {}",
                            e.message,
                            refused_zones(p, &texts(a, "subnets")).await
                        );
                    }
                    Err(e)
                }
            }
        })
        .await?;
        let o = if made.attrs.get("ready") == Some(&json!(true)) {
            let mut o = made;
            o.attrs.remove("ready");
            o
        } else {
            wait_ready(p, name, &req.address, &req.progress, true).await?
        };
        if detach_after {
            // Least privilege (the seed's advice): the VPC policy is needed to create the function's
            // network interfaces, not to run it.
            if let Some(role) = role_name(a) {
                p.api
                    .ensure(
                        Call::iam("DetachRolePolicy", Effect::Repeatable).on([role]),
                        &["NoSuchEntity"],
                        || {
                            p.iam
                                .detach_role_policy()
                                .role_name(role)
                                .policy_arn(netplan_engine::schema::VPC_ACCESS_POLICY)
                                .send()
                        },
                    )
                    .await?;
            }
        }
        Ok(o)
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.after;
        let name = &req.id;
        let changed_code = req.changed.iter().any(|c| c == "code_sha256");
        // Checked before anything is sent: an update that needs code it does not have changes nothing.
        let zip = if changed_code {
            Some(code(&req.code)?)
        } else {
            None
        };
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
        let configured = req
            .changed
            .iter()
            .any(|c| config_keys.contains(&c.as_str()));
        if configured {
            let (runtime, handler, role) = (
                required(a, "runtime")?,
                required(a, "handler")?,
                required(a, "role")?,
            );
            p.api
                .send(
                    Call::lambda("UpdateFunctionConfiguration", Effect::Repeatable).on([name]),
                    || {
                        p.lambda
                            .update_function_configuration()
                            .function_name(name)
                            .runtime(Runtime::from(runtime))
                            .handler(handler)
                            .role(role)
                            .set_memory_size(int(a, "memory").map(|m| m as i32))
                            .set_timeout(int(a, "timeout").map(|t| t as i32))
                            .environment(environment(a))
                            .vpc_config(vpc_config(a))
                            .send()
                    },
                )
                .await?;
        }
        let o = wait_ready(p, name, &req.address, &req.progress, configured).await?;
        if let Some(arn) = text(&o.attrs, "arn") {
            let current = function_tags(p, arn).await?;
            let stale: Vec<String> = current
                .keys()
                .filter(|k| !req.tags.contains_key(*k) && *k != TOKEN_TAG)
                .cloned()
                .collect();
            if !stale.is_empty() {
                p.api
                    .send(
                        Call::lambda("UntagResource", Effect::Repeatable).on([arn]),
                        || {
                            p.lambda
                                .untag_resource()
                                .resource(arn)
                                .set_tag_keys(Some(stale.clone()))
                                .send()
                        },
                    )
                    .await?;
            }
            let tags: HashMap<String, String> = req
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            p.api
                .send(
                    Call::lambda("TagResource", Effect::Repeatable).on([arn]),
                    || {
                        p.lambda
                            .tag_resource()
                            .resource(arn)
                            .set_tags(Some(tags.clone()))
                            .send()
                    },
                )
                .await?;
        }
        // The code last: a rollback can set every other attribute back, but only this run's new
        // code is known — so nothing that can fail comes after it but the wait.
        let o = if changed_code {
            p.api
                .send(
                    Call::lambda("UpdateFunctionCode", Effect::Repeatable).on([name]),
                    || {
                        p.lambda
                            .update_function_code()
                            .function_name(name)
                            .zip_file(zip.clone().expect("packaged above"))
                            .send()
                    },
                )
                .await?;
            wait_ready(p, name, &req.address, &req.progress, true).await?
        } else {
            o
        };
        Ok(o)
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        p.api
            .send(
                Call::lambda("DeleteFunction", Effect::Delete).on([&req.id]),
                || p.lambda.delete_function().function_name(&req.id).send(),
            )
            .await?;
        Ok(())
    }
}

/// Which of the function's subnets sit in which zone (name and AZ ID), and the fix: what a user reads
/// when Lambda refuses a zone.
async fn refused_zones(p: &AwsProvider, subnets: &[String]) -> String {
    let described = p
        .api
        .send(
            Call::ec2("DescribeSubnets", Effect::Read).on(subnets.iter()),
            || {
                p.ec2
                    .describe_subnets()
                    .set_subnet_ids(Some(subnets.to_vec()))
                    .send()
            },
        )
        .await;
    let placed: Vec<String> = match described {
        Ok(o) => o
            .subnets()
            .iter()
            .map(|s| {
                format!(
                    "{} is in {} ({})",
                    s.subnet_id().unwrap_or("?"),
                    s.availability_zone().unwrap_or("?"),
                    s.availability_zone_id().unwrap_or("?")
                )
            })
            .collect(),
        Err(_) => vec![],
    };
    format!(
        "{}: put the function's subnets in other zones — with `azs = N` netplan chooses zones Lambda is not known to refuse; with a list, leave the refused one out",
        if placed.is_empty() {
            "its subnets' zones could not be read".to_string()
        } else {
            placed.join(", ")
        }
    )
}

pub(super) async fn invoke(
    p: &AwsProvider,
    name: &str,
    timeout: Option<Duration>,
) -> Result<(i32, Option<String>, String), ProviderError> {
    // The function runs up to its timeout: the attempt is given that long and a margin (at least
    // --timeout). Invoke is `Once`: an unanswered invocation is never sent again — it would run the
    // function a second time.
    let attempt = (timeout.unwrap_or_default() + Duration::from_secs(30)).max(p.attempt_timeout);
    let out = p
        .api
        .send(Call::lambda("Invoke", Effect::Once).on([name]), || {
            p.lambda
                .invoke()
                .function_name(name)
                .payload(Blob::new(b"{}".to_vec()))
                .customize()
                .config_override(
                    aws_sdk_lambda::config::Builder::default().timeout_config(
                        aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                            .operation_attempt_timeout(attempt)
                            .build(),
                    ),
                )
                .send()
        })
        .await?;
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
