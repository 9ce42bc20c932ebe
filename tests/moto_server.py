"""moto's server, as `moto_server` runs it, with CloudFormation support for API Gateway authorizers.

moto's CloudFormation only creates resource types that have a `CloudFormationModel` subclass
(moto.cloudformation.parsing.get_model_map) and skips the others with a warning. moto 5.2.5 has none
for AWS::ApiGatewayV2::Api, ::Authorizer, ::Route, ::Stage or AWS::ApiGateway::Authorizer, so a
stack's HTTP APIs and authorizers would be missing from the apigatewayv2/apigateway backends the
tests check them in. This file adds those five models, each creating, updating and deleting the real
object in moto's backend, and fixes three gaps in moto's own models: AWS::ApiGateway::Method drops
AuthorizerId, a RestApi is left behind when its stack is deleted, and a nested stack is listed by
name and replaced on update where AWS lists its ARN and updates it in place. It also answers
apigatewayv2 GetAuthorizers, which moto lacks.

Usage is that of `moto_server`: python tests/moto_server.py -H 127.0.0.1 -p PORT
"""

import json
import sys
from typing import Any

from moto.apigateway.models import Method, RestAPI, apigateway_backends
from moto.apigatewayv2.models import apigatewayv2_backends
from moto.apigatewayv2.responses import ApiGatewayV2Response
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudformation.models import Stack
from moto.cloudformation.utils import get_stack_from_s3_url
from moto.core.common_models import CloudFormationModel
from moto.utilities.utils import get_partition


class _Model:
    """What the five models share. Each instance stands for one object in a moto backend: its
    physical id is what CloudFormation's Ref gives, and the backend object is the one the APIs
    return. Subclasses name the properties whose change replaces the resource, as AWS does; a change
    of any other property updates the object in place, keeping its id."""

    REPLACE_ON: tuple[str, ...] = ()
    ATTRIBUTES: dict[str, str] = {}  # Fn::GetAtt name -> attribute of this instance

    def __init__(self, account_id: str, region_name: str, props: dict[str, Any]):
        self.account_id, self.region_name, self.props = account_id, region_name, props
        self.create()

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attr: str) -> Any:
        if attr not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return getattr(self, self.ATTRIBUTES[attr])

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "_Model":
        return cls(account_id, region_name, cloudformation_json["Properties"])

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: "_Model", new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> "_Model":
        props = cloudformation_json["Properties"]
        if any(props.get(p) != original_resource.props.get(p) for p in cls.REPLACE_ON):
            new = cls(account_id, region_name, props)
            original_resource.delete(account_id, region_name)
            return new
        original_resource.props = props
        original_resource.update()
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        pass  # moto's stack delete calls the instance's delete() first; that is the one used

    @property
    def v2(self) -> Any:
        return apigatewayv2_backends[self.account_id][self.region_name]

    @property
    def v1(self) -> Any:
        return apigateway_backends[self.account_id][self.region_name]


# moto's model registry (InstanceTrackerMeta) files each model class under the service named in its
# module path, moto.<service>...; a class defined in this script would have none, hence __module__.


class HttpApi(_Model, CloudFormationModel):
    __module__ = "moto.apigatewayv2.cloudformation"
    REPLACE_ON = ("ProtocolType",)
    ATTRIBUTES = {"ApiId": "physical_resource_id", "ApiEndpoint": "api_endpoint"}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    def create(self) -> None:
        p = self.props
        api = self.v2.create_api(
            api_key_selection_expression=None, cors_configuration=None, description=p.get("Description"),
            disable_schema_validation=None, disable_execute_api_endpoint=None, name=p.get("Name"),
            protocol_type=p.get("ProtocolType"), route_selection_expression=p.get("RouteSelectionExpression"),
            tags=p.get("Tags"), version=None,
        )
        self.physical_resource_id, self.api_endpoint = api.api_id, api.api_endpoint

    def update(self) -> None:
        api = self.v2.get_api(self.physical_resource_id)
        api.name, api.description = self.props.get("Name"), self.props.get("Description")
        api.route_selection_expression = self.props.get("RouteSelectionExpression") or "$request.method $request.path"

    def delete(self, account_id: str, region_name: str) -> None:
        self.v2.delete_api(self.physical_resource_id)


class HttpApiAuthorizer(_Model, CloudFormationModel):
    __module__ = "moto.apigatewayv2.cloudformation"
    REPLACE_ON = ("ApiId",)
    ATTRIBUTES = {"AuthorizerId": "physical_resource_id"}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Authorizer"

    def create(self) -> None:
        self.api_id = self.props["ApiId"]
        self.physical_resource_id = self.v2.create_authorizer(
            api_id=self.api_id, auth_creds_arn=None, auth_result_ttl=None,
            auth_payload_format_version=self.props.get("AuthorizerPayloadFormatVersion"),
            authorizer_uri=None, authorizer_type=self.props.get("AuthorizerType"), enable_simple_response=None,
            identity_source=None, identity_validation_expr=None, jwt_config=None, name=self.props.get("Name"),
        ).id
        self.update()

    def update(self) -> None:
        # Every property is set, so one removed from the template is cleared as AWS clears it.
        a, p = self.v2.get_authorizer(self.api_id, self.physical_resource_id), self.props
        a.name, a.authorizer_type = p.get("Name"), p.get("AuthorizerType")
        a.authorizer_uri, a.auth_creds_arn = p.get("AuthorizerUri"), p.get("AuthorizerCredentialsArn")
        a.auth_payload_format_version = p.get("AuthorizerPayloadFormatVersion")
        a.enable_simple_response = _bool(p.get("EnableSimpleResponses"))
        a.identity_source = p.get("IdentitySource")
        a.identity_validation_expr = p.get("IdentityValidationExpression")
        a.jwt_config = p.get("JwtConfiguration")
        ttl = p.get("AuthorizerResultTtlInSeconds")
        a.auth_result_ttl = None if ttl is None else int(ttl)

    def delete(self, account_id: str, region_name: str) -> None:
        api = self.v2.apis.get(self.api_id)  # deleting the API first took its authorizers with it
        if api:
            api.authorizers.pop(self.physical_resource_id, None)


class HttpApiRoute(_Model, CloudFormationModel):
    __module__ = "moto.apigatewayv2.cloudformation"
    REPLACE_ON = ("ApiId",)
    ATTRIBUTES = {"RouteId": "physical_resource_id"}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

    def create(self) -> None:
        self.api_id = self.props["ApiId"]
        self.physical_resource_id = self.v2.create_route(
            api_id=self.api_id, api_key_required=False, authorization_scopes=None, authorization_type="NONE",
            authorizer_id=None, model_selection_expression=None, operation_name=None, request_models=None,
            request_parameters=None, route_key=self.props["RouteKey"], route_response_selection_expression=None,
            target=None,
        ).route_id
        self.update()

    def update(self) -> None:
        r, p = self.v2.get_route(self.api_id, self.physical_resource_id), self.props
        r.route_key, r.target = p["RouteKey"], p.get("Target")
        r.authorization_type = p.get("AuthorizationType", "NONE")
        r.authorizer_id, r.authorization_scopes = p.get("AuthorizerId"), p.get("AuthorizationScopes")
        r.api_key_required = _bool(p.get("ApiKeyRequired")) or False
        r.operation_name = p.get("OperationName")

    def delete(self, account_id: str, region_name: str) -> None:
        api = self.v2.apis.get(self.api_id)
        if api:
            api.routes.pop(self.physical_resource_id, None)


class HttpApiStage(_Model, CloudFormationModel):
    __module__ = "moto.apigatewayv2.cloudformation"
    REPLACE_ON = ("ApiId", "StageName")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    def create(self) -> None:
        self.api_id = self.props["ApiId"]
        self.physical_resource_id = self.props["StageName"]
        self.v2.create_stage(self.api_id, {"stageName": self.physical_resource_id})
        self.update()

    def update(self) -> None:
        s = self.v2.get_stage(self.api_id, self.physical_resource_id)
        s.auto_deploy = _bool(self.props.get("AutoDeploy"))
        s.description = self.props.get("Description")
        s.stage_variables = self.props.get("StageVariables", {})

    def delete(self, account_id: str, region_name: str) -> None:
        api = self.v2.apis.get(self.api_id)
        if api:
            api.stages.pop(self.physical_resource_id, None)


class RestApiAuthorizer(_Model, CloudFormationModel):
    __module__ = "moto.apigateway.cloudformation"
    REPLACE_ON = ("RestApiId",)
    ATTRIBUTES = {"AuthorizerId": "physical_resource_id"}

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Authorizer"

    def create(self) -> None:
        self.rest_api_id = self.props["RestApiId"]
        self.physical_resource_id = self.v1.create_authorizer(
            self.rest_api_id, self.props.get("Name"), self.props.get("Type")
        ).id
        self.update()

    def update(self) -> None:
        a, p = self.v1.get_authorizer(self.rest_api_id, self.physical_resource_id), self.props
        a.name, a.type = p.get("Name"), p.get("Type")
        a.authorizer_uri, a.authorizer_credentials = p.get("AuthorizerUri"), p.get("AuthorizerCredentials")
        a.identity_source = p.get("IdentitySource")
        a.identity_validation_expression = p.get("IdentityValidationExpression")
        a.provider_arns, a.auth_type = p.get("ProviderARNs"), p.get("AuthType")
        a.authorizer_result_ttl = int(p.get("AuthorizerResultTtlInSeconds", 300))  # AWS's default

    def delete(self, account_id: str, region_name: str) -> None:
        api = self.v1.apis.get(self.rest_api_id)
        if api:
            api.authorizers.pop(self.physical_resource_id, None)


def _bool(value: Any) -> Any:
    """A template's booleans may arrive as strings ("true"), as CloudFormation accepts them."""
    return value.lower() == "true" if isinstance(value, str) else value


# moto's AWS::ApiGateway::Method passes neither AuthorizerId nor AuthorizationScopes to put_method
# and requires an Integration with a Uri; it also has no update, so a stack update that changed a
# method lost it from the stack.
def _method_create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Method:
    p = cloudformation_json["Properties"]
    backend = apigateway_backends[account_id][region_name]
    method = backend.put_method(
        function_id=p["RestApiId"], resource_id=p["ResourceId"], method_type=p["HttpMethod"],
        authorization_type=p.get("AuthorizationType", "NONE"), api_key_required=_bool(p.get("ApiKeyRequired")),
        authorizer_id=p.get("AuthorizerId"), authorization_scopes=p.get("AuthorizationScopes"),
    )
    integration = p.get("Integration")
    if integration:
        backend.put_integration(
            function_id=p["RestApiId"], resource_id=p["ResourceId"], method_type=p["HttpMethod"],
            integration_type=integration["Type"], uri=integration.get("Uri"),
            integration_method=integration.get("IntegrationHttpMethod"),
        )
    return method


def _method_update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Method:
    return _method_create(cls, new_resource_name, cloudformation_json, account_id, region_name)


Method.create_from_cloudformation_json = classmethod(_method_create)  # type: ignore[method-assign]
Method.update_from_cloudformation_json = classmethod(_method_update)  # type: ignore[method-assign]


# moto's AWS::ApiGateway::RestApi has no delete: the API (with its resources, methods and
# authorizers) outlived its stack.
def _rest_api_delete(self: RestAPI, account_id: str, region_name: str) -> None:
    apigateway_backends[account_id][region_name].apis.pop(self.id, None)


RestAPI.delete = _rest_api_delete  # type: ignore[attr-defined]


# A nested stack (AWS::CloudFormation::Stack): AWS's PhysicalResourceId and Ref are the nested
# stack's ARN, which ListStackResources, DescribeStacks and DeleteStack all accept; moto gives its
# name. AWS updates a nested stack in place; moto deletes it and creates another.
def _nested_update(cls: Any, original_resource: Stack, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Stack:
    p = cloudformation_json["Properties"]
    body = get_stack_from_s3_url(p["TemplateURL"], account_id=account_id, partition=get_partition(region_name))
    original_resource.update(body, parameters=p.get("Parameters", {}))
    return original_resource


Stack.physical_resource_id = property(lambda self: self.stack_id)  # type: ignore[assignment, method-assign]
Stack.update_from_cloudformation_json = classmethod(_nested_update)  # type: ignore[method-assign]

# moto's apigatewayv2 has GetAuthorizer but not GetAuthorizers (the list, GET /v2/apis/{id}/authorizers);
# the route is there and answers 500. Without pagination, as moto's GetRoutes.
def _get_authorizers(self: ApiGatewayV2Response) -> Any:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
    return 200, {}, json.dumps({"items": [a.to_json() for a in api.authorizers.values()]})


ApiGatewayV2Response.get_authorizers = _get_authorizers  # type: ignore[attr-defined]

# The model lists are computed once and cached; nothing has read them yet, but clear them so the
# classes above are in them whatever was imported first.
for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
    cached.cache_clear()

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
