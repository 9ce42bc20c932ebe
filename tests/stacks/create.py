"""Creates every stack of infra/ in moto's CloudFormation, the way a deployment would, and prints
what was created as JSON on standard output (tests/tests/stacks/ asserts on it and reads the
resources back).

For each template: the build `sam build` made (tests/run runs it on each template as
infra/README.md does), then `sam package` runs for real (SAM CLI's own
exporter, uploading to moto's S3: code zips, nested templates, with Location and CodeUri replaced by
their S3 locations), the SAM translator turns the packaged template into CloudFormation offline,
and CreateStack runs with the parameters and capabilities a deployment would pass.

moto runs no transforms, so a nested application's TemplateURL is pointed at the translation of
the template `sam package` uploaded, which is what CloudFormation would expand it to.

Run with .venv-sam/bin/python (SAM CLI and its translator); moto's own list of supported resource
types is read with .venv/bin/python, the interpreter moto_server runs in. Needs MOTO_ENDPOINT.
SAM_BUILD_DIR overrides where the builds are (tests/.run/sam/{main,central,demo}), MOTO_PYTHON
moto's interpreter. Every name carries a random run id
(STACKS_RUN_ID to choose it), so runs share one moto_server with the other tests.
"""

import copy
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from urllib.parse import urlparse
from xml.etree import ElementTree

REGION = "us-east-1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The translator and SAM CLI read the region and credentials from the environment; nothing here
# may reach AWS itself.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAM_CLI_TELEMETRY": "0",
    }
)
for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(var, None)

import boto3  # noqa: E402
from samcli.lib.package.artifact_exporter import Template  # noqa: E402
from samcli.lib.package.code_signer import CodeSigner  # noqa: E402
from samcli.lib.package.ecr_uploader import ECRUploader  # noqa: E402
from samcli.lib.package.s3_uploader import S3Uploader  # noqa: E402
from samcli.lib.package.uploaders import Uploaders  # noqa: E402
from samcli.yamlhelper import yaml_dump, yaml_parse  # noqa: E402
from samtranslator.parser.parser import Parser  # noqa: E402
from samtranslator.translator.translator import Translator  # noqa: E402

# SAM CLI and botocore narrate uploads and credentials at INFO; standard error is for failures.
logging.disable(logging.INFO)

# Every capability a `sam deploy` of these templates passes: named IAM for nothing here today, but
# harmless, and the nested applications need AUTO_EXPAND.
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


def fail(message):
    print(f"create.py: {message}", file=sys.stderr)
    sys.exit(2)


def sam_build_dir():
    """Where tests/run's `sam build` step put each template's build (SAM_BUILD_DIR overrides)."""
    return os.environ.get("SAM_BUILD_DIR") or os.path.join(ROOT, "tests", ".run", "sam")


def bootstrap_path():
    """The arm64 bootstrap `sam build` put in the forwarder stack's build."""
    return os.path.join(sam_build_dir(), "main", "ForwarderFunction", "bootstrap")


def moto_supported_types():
    """The resource types moto's CloudFormation creates; it skips every other type with a warning."""
    python = os.environ.get("MOTO_PYTHON") or os.path.join(ROOT, ".venv", "bin", "python")
    if not os.path.exists(python):
        fail(f"{python} is missing: run ./tests/run, which installs moto into .venv")
    code = (
        "import json, warnings\n"
        "warnings.simplefilter('ignore')\n"
        # The models tests/moto_server.py adds are the server's: read them as it does.
        f"import runpy; runpy.run_path({os.path.join(ROOT, 'tests', 'moto_server.py')!r})\n"
        "from moto.cloudformation.parsing import get_model_map\n"
        "print(json.dumps(sorted(get_model_map())))\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        fail(f"reading moto's supported types failed: {out.stderr}")
    return set(json.loads(out.stdout))


class Moto:
    def __init__(self, endpoint):
        self.endpoint = endpoint

    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def get_dashboard(self, name):
        """GetDashboard in CloudWatch's query protocol: this botocore speaks its JSON protocol,
        which moto's CloudWatch does not. moto routes by the credential scope; it checks no
        signature."""
        body = urllib.parse.urlencode(
            {"Action": "GetDashboard", "Version": "2010-08-01", "DashboardName": name}
        ).encode()
        request = urllib.request.Request(
            self.endpoint + "/",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Authorization": (
                    f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/monitoring/aws4_request, "
                    "SignedHeaders=host, Signature=0"
                ),
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            root = ElementTree.fromstring(response.read())
        found = {el.tag.split("}")[-1]: el.text for el in root.iter()}
        return {"DashboardName": found["DashboardName"], "DashboardBody": found["DashboardBody"]}


class MotoS3Uploader(S3Uploader):
    """SAM CLI's uploader against moto, writing template URLs as `sam package` does against AWS.

    Its URLs are built from the client's endpoint; moto's CloudFormation reads a nested stack only
    from an amazonaws.com (or localhost) URL, so the S3 host stands in for the local one.
    """

    def to_path_style_s3_url(self, key, version=None):
        url = f"https://s3.{REGION}.amazonaws.com/{self.bucket_name}/{key}"
        return f"{url}?versionId={version}" if version else url


def references(v):
    """The logical ids a template value reads with Ref, Fn::GetAtt or a ${...} of Fn::Sub."""
    found = set()
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "Ref":
                found.add(x)
            elif k == "Fn::GetAtt":
                found.add(x[0] if isinstance(x, list) else x.split(".")[0])
            elif k == "Fn::Sub":
                text = x[0] if isinstance(x, list) else x
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(x, list):
                    found |= references(x[1])
            else:
                found |= references(x)
    elif isinstance(v, list):
        for x in v:
            found |= references(x)
    return found


def s3_key(url):
    """The key of an https://s3.REGION.amazonaws.com/BUCKET/KEY URL."""
    return urlparse(url).path.lstrip("/").split("/", 1)[1]


class Deployer:
    def __init__(self, moto, run_id, work, supported):
        self.moto = moto
        self.supported = supported
        self.run_id = run_id
        self.work = work
        self.s3 = moto.client("s3")
        self.cfn = moto.client("cloudformation")
        self.bucket = f"stacks-{run_id}"
        self.s3.create_bucket(Bucket=self.bucket)
        # moto gives a stack a table of its own instead of the region's when the region has no
        # export yet, and a nested stack's exports would never reach its parent: one comes first.
        self.cfn.create_stack(
            StackName=f"exports-{run_id}",
            TemplateBody=json.dumps(
                {
                    "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                    "Outputs": {"Run": {"Value": run_id, "Export": {"Name": f"stacks-run-{run_id}"}}},
                }
            ),
        )
        uploader = MotoS3Uploader(self.s3, self.bucket, prefix=None, no_progressbar=True)
        uploader.artifact_metadata = None
        self.uploaders = Uploaders(uploader, ECRUploader(None, None, None, {}, True))
        self.translator = Translator({}, Parser())
        self.built = self._build()
        self.template_types = set()
        # The translated nested templates' resources, by the parent's logical id.
        self.nested_resources = {}

    def _build(self):
        """What `sam build` left (tests/run builds each template as infra/README.md does): the
        built templates, with CodeUri at the built bootstrap and nested applications at their
        built templates."""
        built = {}
        for rel, name in [
            ("infra/template.yaml", "main"),
            ("infra/org/central.yaml", "central"),
            ("infra/demo/template.yaml", "demo"),
        ]:
            path = os.path.join(sam_build_dir(), name, "template.yaml")
            if not os.path.isfile(path):
                fail(f"{path} is missing: run ./tests/run, whose sam build step makes it")
            built[rel] = path
        # Templates without code are deployed as written, as infra/README.md deploys them.
        for rel in ["infra/org/member.yaml", "infra/chat/template.yaml"]:
            built[rel] = os.path.join(ROOT, rel)
        return built

    @staticmethod
    def _load(rel):
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            return yaml_parse(f.read())

    @staticmethod
    def _write(directory, name, template):
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(yaml_dump(template))
        return path

    def package(self, rel):
        """`sam package`: uploads code and nested templates, returns the packaged template."""
        path = self.built[rel]
        template = Template(
            path,
            os.path.dirname(path),
            self.uploaders,
            CodeSigner(None, None),
            normalize_template=True,
            normalize_parameters=True,
        )
        return template.export()

    def translate(self, template, parameters):
        """The SAM transform, offline: CloudFormation runs it at CreateStack."""
        if "Transform" not in template:
            return template
        cfn = self.translator.translate(copy.deepcopy(template), parameter_values=dict(parameters))
        for logical, r in cfn["Resources"].items():
            if r["Type"] == "AWS::CloudFormation::Stack":
                # The packaged nested template, as CloudFormation would expand it.
                url = r["Properties"]["TemplateURL"]
                body = self.s3.get_object(Bucket=self.bucket, Key=s3_key(url))["Body"].read()
                nested = self.translate(yaml_parse(body.decode("utf-8")), {})
                self.template_types.update(n["Type"] for n in nested["Resources"].values())
                key = s3_key(url) + ".translated.json"
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(nested).encode())
                r["Properties"]["TemplateURL"] = f"https://s3.{REGION}.amazonaws.com/{self.bucket}/{key}"
                self.nested_resources[logical] = {n: x["Type"] for n, x in nested["Resources"].items()}
        return cfn

    def for_moto(self, cfn):
        """Rewrites what moto cannot take in a translated template; returns what was changed.

        - An output reading an attribute of a resource type moto does not create fails the whole
          CreateStack (HTTP 500) where CloudFormation would return the attribute: it is dropped.
        - moto cannot read a nested stack's outputs with Fn::GetAtt (its Stack model has no
          attributes): the nested stack exports each output under its own name, and the parent
          reads it with Fn::ImportValue, which gives the same value.
        """
        changes = []
        nested_stacks = {
            logical for logical, r in cfn["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"
        }

        def rewrite(v):
            if isinstance(v, dict):
                att = v.get("Fn::GetAtt")
                if isinstance(att, list) and att[0] in nested_stacks and att[1].startswith("Outputs."):
                    name = att[1][len("Outputs.") :]
                    changes.append(f"{att[0]}.{att[1]} read with Fn::ImportValue")
                    return {"Fn::ImportValue": {"Fn::Sub": ["${Stack}-" + name, {"Stack": {"Ref": att[0]}}]}}
                return {k: rewrite(x) for k, x in v.items()}
            if isinstance(v, list):
                return [rewrite(x) for x in v]
            return v

        skipped = {logical for logical, r in cfn["Resources"].items() if r["Type"] not in self.supported}
        for name, output in list(cfn.get("Outputs", {}).items()):
            if references(output.get("Value")) & skipped:
                del cfn["Outputs"][name]
                changes.append(f"output {name} dropped")
        cfn["Resources"] = rewrite(cfn["Resources"])
        if "Outputs" in cfn:
            cfn["Outputs"] = rewrite(cfn["Outputs"])
        for logical in nested_stacks:
            key = s3_key(cfn["Resources"][logical]["Properties"]["TemplateURL"])
            nested = json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            # A nested template's own output may be dropped (the chat stack's reads the
            # configuration moto does not create); anything else is more than moto can take.
            for change in self.for_moto(nested):
                if not (change.startswith("output ") and change.endswith(" dropped")):
                    fail(f"{key}: the nested template needs changes moto cannot make: {change}")
                changes.append(change.replace("output ", f"output {logical}.", 1))
            for output_name, output in nested.get("Outputs", {}).items():
                output["Export"] = {"Name": {"Fn::Sub": "${AWS::StackId}-" + output_name}}
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(nested).encode())
        return sorted(set(changes))

    def deploy(self, rel, stack_name, parameters):
        self.nested_resources = {}
        packaged = self.package(rel)
        cfn = self.translate(packaged, parameters)
        self.template_types.update(r["Type"] for r in cfn["Resources"].values())
        moto_changes = self.for_moto(cfn)
        self.cfn.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(cfn),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=CAPABILITIES,
        )
        stack = self.describe(stack_name)
        packaged_nested = {
            logical: r["Properties"]["Location"]
            for logical, r in packaged["Resources"].items()
            if r["Type"] == "AWS::Serverless::Application"
        }
        stack["packaged"] = {
            "code_uris": {
                logical: r["Properties"]["CodeUri"]
                for logical, r in packaged["Resources"].items()
                if r["Type"] == "AWS::Serverless::Function" and "CodeUri" in r["Properties"]
            },
            "application_locations": packaged_nested,
        }
        stack["moto_changes"] = moto_changes
        stack["template_resources"] = {logical: r["Type"] for logical, r in cfn["Resources"].items()}
        for logical, nested in stack["nested"].items():
            nested["template_resources"] = self.nested_resources[logical]
        return stack

    def describe(self, stack_name):
        """The stack once settled: status, outputs, resources, and its nested stacks the same way."""
        deadline = time.time() + 120
        while True:
            s = self.cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
            if not s["StackStatus"].endswith("_IN_PROGRESS") or time.time() > deadline:
                break
            time.sleep(0.5)
        resources = {}
        nested = {}
        dashboards = {}
        for r in self.cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
            if "LogicalResourceId" not in r:
                # moto lists a resource of a type it skipped without id or type.
                continue
            resources[r["LogicalResourceId"]] = {
                "type": r["ResourceType"],
                "physical_id": r.get("PhysicalResourceId"),
                "status": r["ResourceStatus"],
            }
            if r["ResourceType"] == "AWS::CloudFormation::Stack":
                nested[r["LogicalResourceId"]] = self.describe(r["PhysicalResourceId"])
            if r["ResourceType"] == "AWS::CloudWatch::Dashboard":
                # The body as CloudWatch keeps it, once CloudFormation substituted it.
                got = self.moto.get_dashboard(r["PhysicalResourceId"])
                dashboards[r["LogicalResourceId"]] = {
                    "name": got["DashboardName"],
                    "body": got["DashboardBody"],
                }
        return {
            "name": s["StackName"],
            "status": s["StackStatus"],
            "reason": s.get("StackStatusReason"),
            "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in s.get("Parameters", [])},
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])},
            "resources": resources,
            "nested": nested,
            "dashboards": dashboards,
        }


def main():
    endpoint = os.environ.get("MOTO_ENDPOINT")
    if not endpoint:
        fail("MOTO_ENDPOINT is not set: run ./tests/run, which starts moto_server")
    bootstrap = bootstrap_path()
    if not os.path.isfile(bootstrap):
        fail(f"{bootstrap} is missing: run ./tests/run, whose sam build step makes it")
    moto = Moto(endpoint)
    run_id = os.environ.get("STACKS_RUN_ID") or secrets.token_hex(4)
    supported = moto_supported_types()
    logs = moto.client("logs")

    def log_group(name):
        name = f"/aws/vendedlogs/apigateway/{run_id}-{name}"
        logs.create_log_group(logGroupName=name)
        return name

    key_arn = moto.client("kms").create_key(Description=f"stacks {run_id}")["KeyMetadata"]["Arn"]
    topic_arn = moto.client("sns").create_topic(Name=f"existing-{run_id}")["TopicArn"]
    prerequisites = {
        "kms_key_arn": key_arn,
        "existing_topic_arn": topic_arn,
        "log_groups": {},
        "execution_log_groups": {},
    }

    def execution_log_group(stage):
        """A REST stage's execution-log group, named as API Gateway names it (a 10-character id)."""
        api_id = (re.sub("[^a-z0-9]", "", run_id.lower()) + "0123456789")[:10]
        name = f"API-Gateway-Execution-Logs_{api_id}/{stage}"
        logs.create_log_group(logGroupName=name)
        return name

    with tempfile.TemporaryDirectory(prefix="stacks-") as work:
        d = Deployer(moto, run_id, work, supported)
        stacks = {}

        def deploy(variant, rel, stack_name, parameters):
            stacks[variant] = d.deploy(rel, stack_name, parameters)
            stacks[variant]["template"] = rel
            return stacks[variant]

        main_variants = {
            "main-defaults": {},
            "main-kms": {"KmsKeyArn": key_arn},
            "main-existing-topic": {"ExistingTopicArn": topic_arn},
            "main-no-flood-control": {"AlertWindowSeconds": "0"},
            "main-no-metrics": {"MetricsNamespace": "", "FailureAlarmThreshold": "5"},
            "main-execution-log": {},
        }
        for variant, extra in main_variants.items():
            group = log_group(variant)
            prerequisites["log_groups"][variant] = group
            if variant == "main-execution-log":
                execution = execution_log_group("prod")
                prerequisites["execution_log_groups"][variant] = execution
                extra = {"ExecutionLogGroupName": execution}
            deploy(
                variant,
                "infra/template.yaml",
                f"{variant}-{run_id}",
                {"AccessLogGroupName": group, **extra},
            )

        # Two forwarder stacks notify one Slack channel through its one configuration.
        deploy(
            "chat",
            "infra/chat/template.yaml",
            f"chat-{run_id}",
            {
                "SlackWorkspaceId": "T0123456789",
                "SlackChannelId": "C0123456789",
                "TopicArns": ",".join(
                    stacks[v]["outputs"]["TopicArn"] for v in ["main-defaults", "main-kms"]
                ),
            },
        )

        # Central always names who may subscribe: accounts or the organisation.
        accounts = deploy(
            "central-accounts",
            "infra/org/central.yaml",
            f"central-accounts-{run_id}",
            {
                "SourceAccountIds": "111111111111,222222222222",
                "DestinationName": f"accounts-{run_id}",
            },
        )
        deploy(
            "central-organization",
            "infra/org/central.yaml",
            # Longer than the 30 characters a fixed nested function name allowed.
            f"central-organization-with-a-long-name-{run_id}",
            {"OrganizationId": "o-abcdef0123", "DestinationName": f"org-{run_id}"},
        )

        # moto creates no AWS::Logs::Destination: its ARN is the one CloudFormation would return.
        destination = accounts["outputs"].get("DestinationArn") or (
            f"arn:aws:logs:{REGION}:123456789012:destination:accounts-{run_id}"
        )
        prerequisites["destination_arn"] = destination
        member_group = log_group("member")
        prerequisites["log_groups"]["member-log-group"] = member_group
        member_execution = execution_log_group("member")
        prerequisites["execution_log_groups"]["member-log-group"] = member_execution
        deploy(
            "member-log-group",
            "infra/org/member.yaml",
            f"member-group-{run_id}",
            {
                "DestinationArn": destination,
                "AccessLogGroupName": member_group,
                "ExecutionLogGroupName": member_execution,
            },
        )
        deploy(
            "member-account",
            "infra/org/member.yaml",
            f"member-account-{run_id}",
            {"DestinationArn": destination, "AccessLogGroupName": ""},
        )
        # With Slack: both forwarders' topics in the one configuration of the demo's channel.
        deploy(
            "demo",
            "infra/demo/template.yaml",
            f"d-{run_id}",
            {"SlackWorkspaceId": "T0123456789", "SlackChannelId": "C0A1B2C3D4E"},
        )

    print(
        json.dumps(
            {
                "run_id": run_id,
                "bucket": d.bucket,
                "prerequisites": prerequisites,
                "template_types": sorted(d.template_types),
                "moto_unsupported_types": sorted(d.template_types - supported),
                "stacks": stacks,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
