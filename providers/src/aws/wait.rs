//! Waiting on AWS: objects that take minutes to become available (NAT gateways, functions, endpoints)
//! or to go away (Lambda's network interfaces), and deletes refused because something still uses the
//! object.
//!
//! - `wait_for` polls one object with a pause that grows with the time waited (a tenth of it, within
//!   bounds), so a short wait is noticed quickly and a long one costs few calls.
//! - `Poller` serves many waiters on one kind with one describe per interval: forty NAT gateways pending
//!   are forty waiters and one DescribeNatGateways every few seconds, not forty.
//! - `holders` says what holds a subnet, security group or VPC that AWS refuses to delete, and whether
//!   each goes away by itself (Lambda's interfaces once their function is gone, a NAT gateway being
//!   deleted) — so a delete waits only for those, and names anything else within a minute.

use super::api::{Call, Effect};
use super::attrs::all_pages;
use super::AwsProvider;
use aws_sdk_ec2::types::Filter;
use netplan_engine::provider::{ErrorKind, ProgressFn, ProviderError};
use netplan_engine::ResourceAddr;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The pause before the next poll after waiting `waited`: a tenth of it, at least `min`, at most 30 s.
fn pause(min: Duration, waited: Duration) -> Duration {
    netplan_engine::retry::poll_pause(min, Duration::from_secs(30), waited)
}

/// The wait is over: its own budget is spent, or the step it runs in has reached its deadline.
fn out_of_time(waited: Duration, budget: Duration) -> bool {
    waited > budget
        || netplan_engine::retry::current_deadline().is_some_and(|d| Instant::now() >= d)
}

/// Polls `check` until it returns `Some`, reporting progress, within `budget`.
pub(crate) async fn wait_for<T, F, Fut>(
    p: &AwsProvider,
    what: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
    budget: Duration,
    check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    wait_changing(p, false, what, addr, progress, budget, check).await
}

/// `wait_for`, or — `changing`: AWS has just answered that the object is not ready (a function
/// `Pending` after its create) — with the first look after a pause and looks never closer than
/// `poll / 4`: many such waits at once (forty functions) then cost a few calls each, not one every
/// few hundred milliseconds.
pub(crate) async fn wait_changing<T, F, Fut>(
    p: &AwsProvider,
    changing: bool,
    what: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
    budget: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let min = if changing { p.poll / 4 } else { p.poll / 8 };
    let start = Instant::now();
    if changing {
        tokio::time::sleep(min).await;
    }
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        let waited = start.elapsed();
        if out_of_time(waited, budget) {
            return Err(ProviderError::new(
                ErrorKind::Failed,
                format!("timed out after {}s {what}", waited.as_secs()),
            ));
        }
        if let Some(f) = progress {
            f(addr, &format!("{what}… {}s", waited.as_secs()));
        }
        tokio::time::sleep(pause(min, waited)).await;
    }
}

/// One describe per interval for every waiter on a kind. A waiter registers its id; whoever finds the
/// last round too old (or not covering its id) describes every registered id, holding the lock so the
/// others wait for that answer instead of asking again.
pub(crate) struct Poller<O: Clone> {
    state: tokio::sync::Mutex<PollState<O>>,
}

struct PollState<O> {
    wanted: BTreeSet<String>,
    /// The ids the last round asked for, what it found, and when.
    asked: BTreeSet<String>,
    found: HashMap<String, O>,
    at: Option<Instant>,
}

impl<O: Clone> Default for Poller<O> {
    fn default() -> Self {
        Poller {
            state: tokio::sync::Mutex::new(PollState {
                wanted: BTreeSet::new(),
                asked: BTreeSet::new(),
                found: HashMap::new(),
                at: None,
            }),
        }
    }
}

impl<O: Clone> Poller<O> {
    /// Waits until `done` says so for `id`'s observation (`None`: not visible), polling with `describe`
    /// (which gets every id waited on) every `interval`.
    #[allow(clippy::too_many_arguments)]
    pub async fn wait<T, D, Fut>(
        &self,
        id: &str,
        what: &str,
        addr: &ResourceAddr,
        progress: &Option<ProgressFn>,
        interval: Duration,
        budget: Duration,
        describe: D,
        done: impl Fn(Option<&O>) -> Option<Result<T, ProviderError>>,
    ) -> Result<T, ProviderError>
    where
        D: Fn(Vec<String>) -> Fut,
        Fut: Future<Output = Result<HashMap<String, O>, ProviderError>>,
    {
        let start = Instant::now();
        // AWS has just answered that the object is not ready: the first look is a round away (an
        // eighth of `interval`), and by then the round covers every waiter registered meanwhile.
        self.state.lock().await.wanted.insert(id.to_string());
        tokio::time::sleep(interval / 8).await;
        loop {
            let next = {
                let mut s = self.state.lock().await;
                s.wanted.insert(id.to_string());
                // Proportional: a tenth of the time waited, from an eighth of `interval` up to it, so
                // a short wait is seen soon and a long one costs no more calls.
                let interval = (start.elapsed() / 10).clamp(interval / 8, interval);
                let stale = s.at.is_none_or(|t| t.elapsed() >= interval);
                if stale || !s.asked.contains(id) {
                    let ids: Vec<String> = s.wanted.iter().cloned().collect();
                    match describe(ids.clone()).await {
                        Ok(found) => {
                            s.found = found;
                            s.asked = ids.into_iter().collect();
                            s.at = Some(Instant::now());
                        }
                        Err(e) => {
                            s.wanted.remove(id);
                            return Err(e);
                        }
                    }
                }
                if let Some(result) = done(s.found.get(id)) {
                    s.wanted.remove(id);
                    return result;
                }
                s.at.map(|t| t + interval).unwrap_or_else(Instant::now)
            };
            let waited = start.elapsed();
            if out_of_time(waited, budget) {
                self.state.lock().await.wanted.remove(id);
                return Err(ProviderError::new(
                    ErrorKind::Failed,
                    format!("timed out after {}s {what}", waited.as_secs()),
                ));
            }
            if let Some(f) = progress {
                f(addr, &format!("{what}… {}s", waited.as_secs()));
            }
            tokio::time::sleep_until(next.max(Instant::now() + Duration::from_millis(10))).await;
        }
    }
}

/// Something that keeps AWS from deleting an object.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    /// What it is, for the user: `network interface eni-… (Lambda, function gone)`.
    pub what: String,
    /// It goes away by itself (Lambda releases interfaces of deleted functions; a NAT being deleted).
    pub goes_away: bool,
}

/// What holds `id` (a subnet, security group or VPC) now: network interfaces in it, NAT gateways in
/// it, and (for a VPC) its subnets, gateways and endpoints.
pub(crate) async fn holders(
    p: &AwsProvider,
    filter: &str,
    id: &str,
) -> Result<Vec<Holder>, ProviderError> {
    let by = |name: &str| Filter::builder().name(name).values(id).build();
    let mut out = vec![];
    let enis = all_pages(
        p,
        Call::ec2("DescribeNetworkInterfaces", Effect::Read).on([id]),
        |token| {
            p.ec2
                .describe_network_interfaces()
                .filters(by(filter))
                .set_next_token(token)
                .send()
        },
        |o| o.network_interfaces().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    let functions = if enis
        .iter()
        .any(|e| e.interface_type().map(|t| t.as_str()) == Some("lambda"))
    {
        lambda_users(p, id).await?
    } else {
        vec![]
    };
    for e in &enis {
        let eni = e.network_interface_id().unwrap_or("?");
        let lambda = e.interface_type().map(|t| t.as_str()) == Some("lambda");
        if lambda {
            match functions.first() {
                Some(f) => out.push(Holder {
                    what: format!("network interface {eni} of Lambda function {f}, which still uses it"),
                    goes_away: false,
                }),
                None => out.push(Holder {
                    what: format!("network interface {eni} (Lambda's, its function gone: released within ~20–45 minutes)"),
                    goes_away: true,
                }),
            }
        } else {
            let by = e
                .description()
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            out.push(Holder {
                what: format!("network interface {eni}{by}"),
                goes_away: false,
            });
        }
    }
    if filter == "subnet-id" || filter == "vpc-id" {
        let nats = p
            .api
            .send(
                Call::ec2("DescribeNatGateways", Effect::Read).on([id]),
                || p.ec2.describe_nat_gateways().filter(by(filter)).send(),
            )
            .await?;
        for n in nats.nat_gateways() {
            let state = n.state().map(|s| s.as_str()).unwrap_or("");
            if matches!(state, "deleted" | "failed") {
                continue;
            }
            out.push(Holder {
                what: format!(
                    "NAT gateway {} ({state})",
                    n.nat_gateway_id().unwrap_or("?")
                ),
                goes_away: state == "deleting",
            });
        }
    }
    if filter == "vpc-id" {
        let subnets = p
            .api
            .send(Call::ec2("DescribeSubnets", Effect::Read).on([id]), || {
                p.ec2.describe_subnets().filters(by("vpc-id")).send()
            })
            .await?;
        for s in subnets.subnets() {
            out.push(Holder {
                what: format!("subnet {}", s.subnet_id().unwrap_or("?")),
                goes_away: false,
            });
        }
        let igws = p
            .api
            .send(
                Call::ec2("DescribeInternetGateways", Effect::Read).on([id]),
                || {
                    p.ec2
                        .describe_internet_gateways()
                        .filters(by("attachment.vpc-id"))
                        .send()
                },
            )
            .await?;
        for g in igws.internet_gateways() {
            out.push(Holder {
                what: format!(
                    "internet gateway {} (attached)",
                    g.internet_gateway_id().unwrap_or("?")
                ),
                goes_away: false,
            });
        }
    }
    Ok(out)
}

/// Functions whose VPC configuration names `id` (a subnet or security group).
async fn lambda_users(p: &AwsProvider, id: &str) -> Result<Vec<String>, ProviderError> {
    let all = all_pages(
        p,
        Call::lambda("ListFunctions", Effect::Read),
        |marker| p.lambda.list_functions().set_marker(marker).send(),
        |o| o.functions().to_vec(),
        |o| o.next_marker().map(str::to_string),
    )
    .await?;
    Ok(all
        .iter()
        .filter(|f| {
            f.vpc_config().is_some_and(|v| {
                v.subnet_ids().iter().any(|s| s == id)
                    || v.security_group_ids().iter().any(|s| s == id)
            })
        })
        .filter_map(|f| f.function_name().map(str::to_string))
        .collect())
}

/// Turns a DependencyViolation on deleting `id` into what the engine should do: keep waiting (the
/// holders go away by themselves, or the refusal is younger than a minute) or stop, naming them.
pub(crate) async fn refused(
    p: &AwsProvider,
    filter: &str,
    id: &str,
    retrying_for: Duration,
    e: ProviderError,
) -> ProviderError {
    let holders = match holders(p, filter, id).await {
        Ok(h) => h,
        Err(_) => return e,
    };
    let list = |h: &[Holder]| {
        h.iter()
            .map(|h| h.what.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let stuck: Vec<Holder> = holders.iter().filter(|h| !h.goes_away).cloned().collect();
    if stuck.is_empty() {
        let waiting = if holders.is_empty() {
            String::new()
        } else {
            format!(" — waiting for: {}", list(&holders))
        };
        return ProviderError {
            message: format!("{}{waiting}", e.message),
            ..e
        };
    }
    if retrying_for < Duration::from_secs(60) {
        return ProviderError {
            message: format!("{} — held by: {}", e.message, list(&stuck)),
            ..e
        };
    }
    ProviderError {
        kind: ErrorKind::Failed,
        message: format!(
            "{} — {id} is held by what netplan does not manage and AWS will not remove: {}. Delete or detach them (or move them out of {id}), then run netplan again",
            e.message,
            list(&stuck)
        ),
        ..e
    }
}

/// Waits until no Lambda network interface uses the subnet or security group (`filter` names which),
/// deleting the ones Lambda has detached: they linger for minutes after their function is deleted and
/// block deleting what they sit in. Interfaces of a function that still uses it do not go away: named
/// after a minute.
pub(crate) async fn release_lambda_enis(
    p: &AwsProvider,
    filter: &str,
    id: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
) -> Result<(), ProviderError> {
    let start = Instant::now();
    wait_for(
        p,
        "waiting for Lambda network interfaces to be released",
        addr,
        progress,
        Duration::from_secs(50 * 60),
        || async {
            let enis = p
                .api
                .send(
                    Call::ec2("DescribeNetworkInterfaces", Effect::Read).on([id]),
                    || {
                        p.ec2
                            .describe_network_interfaces()
                            .filters(Filter::builder().name(filter).values(id).build())
                            .filters(
                                Filter::builder()
                                    .name("interface-type")
                                    .values("lambda")
                                    .build(),
                            )
                            .send()
                    },
                )
                .await?
                .network_interfaces()
                .to_vec();
            if enis.is_empty() {
                return Ok(Some(()));
            }
            for eni in &enis {
                if eni.status().map(|s| s.as_str()) == Some("available") {
                    if let Some(eni_id) = eni.network_interface_id() {
                        // Best effort: Lambda may take it back first (then it is gone anyway).
                        let _ = p
                            .api
                            .send(
                                Call::ec2("DeleteNetworkInterface", Effect::Delete).on([eni_id]),
                                || {
                                    p.ec2
                                        .delete_network_interface()
                                        .network_interface_id(eni_id)
                                        .send()
                                },
                            )
                            .await;
                    }
                }
            }
            if start.elapsed() > Duration::from_secs(60) {
                let users = lambda_users(p, id).await?;
                if !users.is_empty() {
                    return Err(ProviderError::new(
                        ErrorKind::Failed,
                        format!(
                            "{id} is still used by Lambda function{} {} (not deleted by this run): its network interfaces stay until it lets go of {id}",
                            if users.len() == 1 { "" } else { "s" },
                            users.join(", ")
                        ),
                    ));
                }
            }
            if let Some(f) = progress {
                f(
                    addr,
                    &format!(
                        "waiting for {} Lambda network interface{} to be released (AWS takes up to ~20–45 minutes)",
                        enis.len(),
                        if enis.len() == 1 { "" } else { "s" }
                    ),
                );
            }
            Ok(None)
        },
    )
    .await
}
