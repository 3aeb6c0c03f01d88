//! The table of kinds: what the AWS provider does for each resource kind, one module per kind behind
//! one trait, so `read`, `create`, `update`, `delete` and `find` dispatch in one place.

use super::attrs::Select;
use super::AwsProvider;
use async_trait::async_trait;
use netplan_engine::provider::{
    CreateRequest, DeleteRequest, ObjectState, ProviderError, UpdateRequest,
};
use netplan_engine::Kind;

#[async_trait]
pub(crate) trait AwsKind: Send + Sync {
    /// The selected objects as they are, in the config's vocabulary (one paged describe).
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError>;
    /// Makes the object (exactly once: `create::create_once`) and whatever the kind needs around it
    /// (attachments, attributes, rules, routes), waiting until it is usable.
    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError>;
    /// Converges the object in place; returns its attributes after.
    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError>;
    /// Deletes it and what must go first; returns when it is gone.
    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError>;
    /// What an earlier attempt of this create made, if anything: by default a describe by netplan's
    /// tags and the create's token. A kind with unique names looks its name up instead (one call).
    async fn made_before(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<Option<ObjectState>, ProviderError> {
        Ok(self
            .describe(p, &Select::made_by(&req.idempotency))
            .await?
            .into_iter()
            .next())
    }
}

/// The module that handles `kind` (high-level kinds are expanded by the engine and have none).
pub(crate) fn of(kind: Kind) -> Result<&'static dyn AwsKind, ProviderError> {
    use super::*;
    Ok(match kind {
        Kind::Vpc => &vpc::Vpc,
        Kind::Subnet => &subnet::Subnet,
        Kind::InternetGateway => &internet_gateway::InternetGateway,
        Kind::EgressOnlyInternetGateway => &egress_only_internet_gateway::EgressOnlyInternetGateway,
        Kind::ElasticIp => &elastic_ip::ElasticIp,
        Kind::NatGateway => &nat_gateway::NatGateway,
        Kind::NatInstance => &nat_instance::NatInstance,
        Kind::RouteTable => &route_table::RouteTable,
        Kind::VpcEndpoint => &vpc_endpoint::VpcEndpoint,
        Kind::SecurityGroup => &security_group::SecurityGroup,
        Kind::NetworkAcl => &network_acl::Acl,
        Kind::IamRole => &iam_role::IamRole,
        Kind::LambdaFunction => &lambda_function::LambdaFunction,
        Kind::Network | Kind::Function => {
            return Err(ProviderError::new(
                ErrorKind::InvalidInput,
                "high-level kinds are expanded by the engine",
            ))
        }
    })
}
