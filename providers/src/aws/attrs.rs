//! Shared pieces of the kind modules: reading request attributes, netplan's tags (set in each create
//! call, checked client-side on every lookup), which objects a describe is for (`Select`), and the one
//! paged describe every kind's lookup goes through.

use super::api::Call;
use super::AwsProvider;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::types::Filter;
use netplan_engine::provider::{
    CreateRequest, ErrorKind, IdempotencyKey, ObjectState, ProviderError,
};
use netplan_engine::value::JsonAttrs;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::future::Future;

type HttpResponse = aws_sdk_ec2::config::http::HttpResponse;

/// The tag every create carries besides netplan:stack and netplan:address: the idempotency token of the
/// create that made the object, so what a create made (and only that) can be found again.
pub(crate) const TOKEN_TAG: &str = "netplan:token";

pub(crate) fn text<'a>(a: &'a JsonAttrs, k: &str) -> Option<&'a str> {
    a.get(k).and_then(J::as_str)
}

pub(crate) fn required<'a>(a: &'a JsonAttrs, k: &str) -> Result<&'a str, ProviderError> {
    text(a, k).ok_or_else(|| ProviderError::new(ErrorKind::InvalidInput, format!("missing `{k}`")))
}

pub(crate) fn flag(a: &JsonAttrs, k: &str) -> bool {
    a.get(k).and_then(J::as_bool).unwrap_or(false)
}

pub(crate) fn int(a: &JsonAttrs, k: &str) -> Option<i64> {
    a.get(k).and_then(J::as_i64)
}

pub(crate) fn texts(a: &JsonAttrs, k: &str) -> Vec<String> {
    a.get(k)
        .and_then(J::as_array)
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn text_map(a: &JsonAttrs, k: &str) -> BTreeMap<String, String> {
    a.get(k)
        .and_then(J::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// An object in the config's vocabulary: its id, as `id` too.
pub(crate) fn object(id: impl Into<String>, attrs: JsonAttrs) -> ObjectState {
    let id = id.into();
    let mut attrs = attrs;
    attrs.insert("id".into(), J::String(id.clone()));
    ObjectState::new(id, attrs)
}

/// EC2 tags as (key, value) pairs.
pub(crate) fn ec2_pairs(tags: &[aws_sdk_ec2::types::Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
}

/// Ids as the state records a list of them: sorted.
pub(crate) fn sorted_ids<'a>(ids: impl Iterator<Item = &'a str>) -> J {
    let mut v: Vec<&str> = ids.collect();
    v.sort();
    J::from(v)
}

/// The user's tags (without netplan's own or AWS's) as the state records them.
pub(crate) fn user_tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> J {
    J::Object(
        pairs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("netplan:") && !k.starts_with("aws:"))
            .map(|(k, v)| (k.to_string(), J::String(v.to_string())))
            .collect(),
    )
}

/// The tags a create sets: the request's (netplan's and the user's) and the create's token.
pub(crate) fn create_tags(req: &CreateRequest) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = req
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    tags.push((TOKEN_TAG.into(), req.idempotency.token.clone()));
    tags
}

pub(crate) fn ec2_tags(tags: &[(String, String)]) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// EC2's TagSpecifications for a create: tags set in the create call itself.
pub(crate) fn ec2_tag_spec(
    kind: aws_sdk_ec2::types::ResourceType,
    req: &CreateRequest,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(ec2_tags(&create_tags(req))))
        .build()
}

pub(crate) fn ec2_user_tags(tags: &[aws_sdk_ec2::types::Tag]) -> J {
    user_tags(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
    )
}

/// Which objects a describe is for.
#[derive(Debug, Clone)]
pub(crate) enum Select {
    Ids(Vec<String>),
    /// Objects netplan made for this stack and address; with a token, only what that create made.
    Tags {
        stack: String,
        address: String,
        token: Option<String>,
    },
}

impl Select {
    /// What the create with this key made.
    pub fn made_by(key: &IdempotencyKey) -> Select {
        Select::Tags {
            stack: key.stack.clone(),
            address: key.address.to_string(),
            token: Some(key.token.clone()),
        }
    }

    pub fn one(id: &str) -> Select {
        Select::Ids(vec![id.to_string()])
    }

    /// The ids named (for the request layer's eventual-consistency rule).
    pub fn ids(&self) -> &[String] {
        match self {
            Select::Ids(ids) => ids,
            Select::Tags { .. } => &[],
        }
    }

    /// EC2 filters selecting these objects, with `id_filter` naming the kind's id filter.
    pub fn filters(&self, id_filter: &str) -> Vec<Filter> {
        let tag = |k: &str, v: &str| Filter::builder().name(format!("tag:{k}")).values(v).build();
        match self {
            Select::Ids(ids) => vec![Filter::builder()
                .name(id_filter)
                .set_values(Some(ids.clone()))
                .build()],
            Select::Tags {
                stack,
                address,
                token,
            } => {
                let mut f = vec![tag("netplan:stack", stack), tag("netplan:address", address)];
                if let Some(t) = token {
                    f.push(tag(TOKEN_TAG, t));
                }
                f
            }
        }
    }

    /// Whether an object with these tags is selected. A lookup by tags is checked here too: not every
    /// API (or emulator) honours tag filters, and an object is netplan's for a stack only with both
    /// netplan:stack and netplan:address.
    pub fn keeps<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        match self {
            Select::Ids(_) => true,
            Select::Tags {
                stack,
                address,
                token,
            } => {
                let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
                tags.get("netplan:stack") == Some(&stack.as_str())
                    && tags.get("netplan:address") == Some(&address.as_str())
                    && token
                        .as_deref()
                        .is_none_or(|t| tags.get(TOKEN_TAG) == Some(&t))
            }
        }
    }

    pub fn keeps_ec2(&self, tags: &[aws_sdk_ec2::types::Tag]) -> bool {
        self.keeps(
            tags.iter()
                .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
        )
    }
}

/// Every page of a describe (each page one request through the request layer): `page(token)` sends
/// the request for a page, `items` and `next` read it.
pub(crate) async fn all_pages<O, T, E, F, Fut>(
    p: &AwsProvider,
    call: Call,
    page: F,
    items: impl Fn(&O) -> Vec<T>,
    next: impl Fn(&O) -> Option<String>,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
    O: RequestId,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut out = vec![];
    let mut token: Option<String> = None;
    loop {
        let o = p.api.send(call.clone(), || page(token.clone())).await?;
        out.extend(items(&o));
        match next(&o).filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Describes objects by id in one call; when that call fails because an id is gone (AWS fails the whole
/// call), asks for each id alone and keeps what exists (rare: only after out-of-band deletes). For the
/// APIs that take id lists but no id filter (on moto).
pub(crate) async fn by_ids_or_each<T, F, Fut>(
    ids: &[String],
    describe: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, ProviderError>>,
{
    match describe(ids.to_vec()).await {
        Ok(found) => Ok(found),
        Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::InvalidInput) => {
            let mut all = vec![];
            for id in ids {
                match describe(vec![id.clone()]).await {
                    Ok(found) => all.extend(found),
                    Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::InvalidInput) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(all)
        }
        Err(e) => Err(e),
    }
}
