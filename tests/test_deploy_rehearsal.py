"""The deploy of docs/deploying.md, rehearsed for real against moto in server mode.

The maintainer's commands run as subprocesses, as docs/deploying.md gives them: ``comnist bootstrap``,
``chalice deploy``, ``comnist bootstrap`` again (it routes the site's ``/api/*`` to the API),
``build_site.py ... --deploy``, and ``chalice delete`` at the end. They run
on a copy of ``collector/`` (``bootstrap --chalice-dir`` points there) so that the repository's
own stages are never touched. Then the deployed handlers are driven as Lambda would drive them,
from the deployment package that Chalice uploaded and with their own roles' credentials while
moto enforces IAM: an API Gateway POST, the S3 event its PNG causes, the scheduled refit,
``GET /stats`` and a contributor record.

moto differs from AWS in a few requests a deploy sends; ``deploy_harness/sitecustomize.py`` mends
those in the rehearsal's processes only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chalicelib.keys import DrawingRef
from comnist.grants import GRANTS, function_policy, lambda_name, policy_grants
from comnist.local import s3_object_created_event
from doccommands import command_shape, documented_shapes
from factories import drawing_body, free_port

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "deploy_harness"
BIN = Path(sys.executable).parent
REGION = "eu-west-1"
STAGE = "rehearsal"
APP = "comnist-collector"


@dataclass
class Rehearsal:
    """What the deploy left: the emulator's address, the project copy and the commands' output."""

    endpoint: str
    project: Path
    env: dict[str, str]
    names: dict[str, str]
    site_url: str
    api_url: str
    outputs: dict[str, str]
    # Every command run, as its argv: the deploy's are compared with docs/deploying.md.
    commands: list[list[str]] = field(default_factory=list)
    deploy_commands: list[list[str]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        import boto3

        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        return session.client(service, endpoint_url=self.endpoint)

    def run(self, *argv: str | Path, cwd: Path) -> str:
        self.commands.append([str(a) for a in argv])
        result = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
        return result.stdout


def copy_project(target: Path) -> Path:
    """A copy of ``collector/`` with the sanitizer link resolved; the dependency cache is shared."""
    cache = ROOT / "collector" / ".chalice" / "deployments"
    cache.mkdir(exist_ok=True)
    shutil.copytree(
        ROOT / "collector",
        target,
        ignore=shutil.ignore_patterns("deployments", "deployed", "__pycache__"),
    )
    # Chalice names its cached dependency packages by a hash of what they hold, so the
    # packaging test and this rehearsal download Lambda's wheels once between them.
    (target / ".chalice" / "deployments").symlink_to(cache)
    return target


def emulator_env(endpoint: str, home: Path) -> dict[str, str]:
    """The environment of the maintainer's commands: the emulator as AWS, no real credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COMNIST_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(home / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
        PYTHONPATH=str(HARNESS),
        COMNIST_HARNESS_POLICIES=str(home / "cloudfront-policies.json"),
    )
    return env


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> Iterator[Rehearsal]:
    import logging

    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    work = tmp_path_factory.mktemp("rehearsal")
    project = copy_project(work / "collector")
    env = emulator_env(endpoint, work)
    outputs: dict[str, str] = {}
    stage = Rehearsal(endpoint, project, env, {}, "", "", outputs)
    try:
        bootstrap = (BIN / "comnist", "bootstrap", "--stage", STAGE)
        bootstrap += ("--chalice-dir", project / ".chalice")
        outputs["bootstrap"] = stage.run(*bootstrap, cwd=ROOT)
        # The bucket names, as the maintainer reads them in bootstrap's output.
        created = re.findall(r"^created s3://(\S+)-(\w+)$", outputs["bootstrap"], re.M)
        stage.names = {kind: f"{prefix}-{kind}" for prefix, kind in created}
        assert stage.names.keys() == {"drawings", "contributors", "site"}, outputs["bootstrap"]
        stage.site_url = re.search(r"^site: (\S+)$", outputs["bootstrap"], re.M)[1]
        stage.names["queue"] = re.search(r"^queue: (\S+)$", outputs["bootstrap"], re.M)[1]
        outputs["deploy"] = stage.run(BIN / "chalice", "deploy", "--stage", STAGE, cwd=project)
        stage.api_url = re.search(r"Rest API URL: (\S+)", outputs["deploy"])[1]
        outputs["route"] = stage.run(*bootstrap, cwd=ROOT)
        outputs["site"] = stage.run(
            BIN / "python",
            ROOT / "build_site.py",
            "--api-url",
            "/api",
            "--site-url",
            stage.site_url,
            "--contributors-bucket",
            stage.names["contributors"],
            "--drawings-bucket",
            stage.names["drawings"],
            "--deploy",
            f"s3://{stage.names['site']}",
            cwd=work,
        )
        stage.deploy_commands = list(stage.commands)
        yield stage
    finally:
        server.stop()


def function_configuration(rehearsal: Rehearsal, function: str) -> dict[str, Any]:
    name = lambda_name(APP, STAGE, function)
    return rehearsal.client("lambda").get_function_configuration(FunctionName=name)


def test_the_deploy_runs_the_commands_the_docs_give(rehearsal):
    """docs/deploying.md's commands, in order, are the ones rehearsed (``make setup`` aside: the
    rehearsal deploys from the Python that runs the tests; ``--chalice-dir`` is its one addition)."""
    documented = documented_shapes(ROOT / "docs" / "deploying.md", "# Deploying to AWS", ("make",))
    rehearsed = [
        command_shape([word for word in argv if word != "--chalice-dir"])
        for argv in rehearsal.deploy_commands
    ]
    assert rehearsed == documented


def test_every_function_is_deployed_with_its_settings(rehearsal):
    config = json.loads((rehearsal.project / ".chalice" / "config.json").read_text())
    stage = config["stages"][STAGE]
    variables = {**config["environment_variables"], **stage["environment_variables"]}
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for function in GRANTS:
        deployed = function_configuration(rehearsal, function)
        settings = {
            **config["lambda_functions"].get(function, {}),
            **stage["lambda_functions"][function],
        }
        assert deployed["Runtime"] == runtime
        assert deployed["Architectures"] == ["x86_64"]
        assert deployed["MemorySize"] == settings.get("lambda_memory_size", 512)
        assert deployed["Timeout"] == settings.get("lambda_timeout", 30)
        assert deployed["Environment"]["Variables"] == variables
    assert function_configuration(rehearsal, "on_new_drawing")["MemorySize"] >= 1024
    assert function_configuration(rehearsal, "refit_and_rescore")["Timeout"] == 900
    assert variables["COMNIST_REFIT_RATE_HOURS"] == "24"
    assert variables["COMNIST_SITE_ORIGINS"] == rehearsal.site_url
    assert rehearsal.site_url.startswith("https://")


def test_the_rest_api_has_the_collectors_routes(rehearsal):
    apigateway = rehearsal.client("apigateway")
    (api,) = apigateway.get_rest_apis()["items"]
    assert rehearsal.api_url.startswith(f"https://{api['id']}.execute-api.{REGION}.")
    assert rehearsal.api_url.endswith("/api/")
    routes = {
        (resource["path"], method)
        for resource in apigateway.get_resources(restApiId=api["id"])["items"]
        for method in resource.get("resourceMethods", {})
    }
    assert routes == {
        ("/drawings", "POST"),
        ("/drawings", "OPTIONS"),
        ("/contributors", "POST"),
        ("/contributors", "OPTIONS"),
        ("/stats", "GET"),
    }
    assert api["binaryMediaTypes"] == [], "the API speaks JSON only"
    stages = apigateway.get_stages(restApiId=api["id"])["item"]
    assert [s["stageName"] for s in stages] == ["api"]


def test_new_pngs_notify_the_event_function_and_the_refit_is_scheduled(rehearsal):
    s3 = rehearsal.client("s3")
    notification = s3.get_bucket_notification_configuration(Bucket=rehearsal.names["drawings"])
    (target,) = notification["LambdaFunctionConfigurations"]
    assert (
        target["LambdaFunctionArn"]
        == function_configuration(rehearsal, "on_new_drawing")["FunctionArn"]
    )
    assert target["Events"] == ["s3:ObjectCreated:*"]
    rules = {r["Name"].lower(): r["Value"] for r in target["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "drawings/", "suffix": ".png"}
    events = rehearsal.client("events")
    scheduled = {}
    for rule in events.list_rules()["Rules"]:
        assert rule["ScheduleExpression"] == "rate(24 hours)" and rule["State"] == "ENABLED"
        (schedule_target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        scheduled[schedule_target["Arn"]] = rule["Name"]
    assert set(scheduled) == {
        function_configuration(rehearsal, function)["FunctionArn"]
        for function in ("refit_and_rescore", "sweep_orphans")
    }


def test_the_rescore_queue_feeds_its_function_at_a_bounded_concurrency(rehearsal):
    from comnist.local import load_app

    sqs = rehearsal.client("sqs")
    url = sqs.get_queue_url(QueueName=rehearsal.names["queue"])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    rescorer = function_configuration(rehearsal, "rescore_drawings")
    assert int(attributes["VisibilityTimeout"]) >= 6 * rescorer["Timeout"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith("-failed")
    (mapping,) = rehearsal.client("lambda").list_event_source_mappings(
        EventSourceArn=attributes["QueueArn"]
    )["EventSourceMappings"]
    assert mapping["FunctionArn"] == rescorer["FunctionArn"]
    assert mapping["EventSourceArn"] == attributes["QueueArn"]
    assert mapping["BatchSize"] == 1
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": load_app().RESCORE_CONCURRENCY}


def test_each_function_has_its_own_role_with_the_tabled_policy(rehearsal):
    iam = rehearsal.client("iam")
    account = rehearsal.client("sts").get_caller_identity()["Account"]
    roles = set()
    for function in GRANTS:
        role_arn = function_configuration(rehearsal, function)["Role"]
        role = role_arn.rsplit("/", 1)[1]
        roles.add(role)
        (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        expected = function_policy(
            function, rehearsal.names, region=REGION, account=account, app_name=APP, stage=STAGE
        )
        assert policy_grants(document) == policy_grants(expected), function
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert len(roles) == len(GRANTS), "no two functions share a role"


def test_the_site_is_served_by_cloudfront_from_private_buckets(rehearsal):
    s3 = rehearsal.client("s3")
    for kind in ("drawings", "contributors", "site"):
        bucket = rehearsal.names[kind]
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()), f"{bucket} is not public"
    site = rehearsal.names["site"]
    page = s3.get_object(Bucket=site, Key="ru/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert s3.get_object(Bucket=site, Key="ru/")["Body"].read() == page["Body"].read()
    assert s3.head_object(Bucket=site, Key="og/ru.png")["ContentType"] == "image/png"
    assets = [o["Key"] for o in s3.list_objects_v2(Bucket=site, Prefix="assets/")["Contents"]]
    script = s3.head_object(Bucket=site, Key=next(k for k in assets if k.endswith(".js")))
    assert script["ContentType"].endswith("javascript; charset=utf-8")
    assert script["CacheControl"] == "public, max-age=31536000, immutable"
    html = s3.get_object(Bucket=site, Key="fr/index.html")["Body"].read().decode()
    assert '"api": "/api"' in html, "the site calls the API on its own origin"
    assert f'href="{rehearsal.site_url}/fr/"' in html

    cloudfront = rehearsal.client("cloudfront")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    assert rehearsal.site_url == f"https://{summary['DomainName']}"
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    assert origins.keys() == {"site", "api"}
    assert origins["site"]["DomainName"] == f"{site}.s3.{REGION}.amazonaws.com"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https" and behaviour["Compress"]
    assert config["DefaultRootObject"] == "index.html"
    api_domain = rehearsal.api_url.split("/")[2]
    assert f"routed  {rehearsal.site_url}/api/* to {api_domain}" in rehearsal.outputs["route"]
    assert origins["api"]["DomainName"] == api_domain
    (route,) = config["CacheBehaviors"]["Items"]
    assert route["PathPattern"] == "/api/*" and route["TargetOriginId"] == "api"
    assert route["ViewerProtocolPolicy"] == "https-only"
    assert "POST" in route["AllowedMethods"]["Items"]
    for reader in json.loads(s3.get_bucket_policy(Bucket=site)["Policy"])["Statement"]:
        assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert reader["Condition"]["StringEquals"]["AWS:SourceArn"] == summary["ARN"]
    assert [e["ErrorCode"] for e in config["CustomErrorResponses"]["Items"]] == [404]
    invalidations = cloudfront.list_invalidations(DistributionId=summary["Id"])
    assert invalidations["InvalidationList"]["Quantity"] == 1, rehearsal.outputs["site"]


def test_every_route_of_the_distribution_sends_the_browser_defences(rehearsal):
    """moto has no response-headers policies: the harness answers those calls (from the file
    the rehearsal's processes share), after botocore validated them as for AWS."""
    from deploy_harness.cloudfront_policies import emulated

    from comnist.security_headers import security_headers

    cloudfront = rehearsal.client("cloudfront")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]["Items"]]
    (policy_id,) = {b.get("ResponseHeadersPolicyId") for b in behaviours}
    with emulated(Path(rehearsal.env["COMNIST_HARNESS_POLICIES"])):
        policy = cloudfront.get_response_headers_policy(Id=policy_id)["ResponseHeadersPolicy"]
    settings = policy["ResponseHeadersPolicyConfig"]
    csp = settings["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert csp == security_headers()["Content-Security-Policy"], "the same CSP as comnist serve"
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    hsts = settings["SecurityHeadersConfig"]["StrictTransportSecurity"]
    assert hsts["Override"] and hsts["AccessControlMaxAgeSec"] >= 31536000
    headers = {h["Header"] for h in settings["CustomHeadersConfig"]["Items"]}
    assert headers == {"Permissions-Policy"}


def unpacked_function(rehearsal: Rehearsal, function: str, target: Path) -> Path:
    """The deployment package the function runs (matched by Lambda's CodeSha256), unzipped."""
    code_sha = function_configuration(rehearsal, function)["CodeSha256"]
    for package in (rehearsal.project / ".chalice" / "deployments").glob("*.zip"):
        digest = base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
        if digest == code_sha:
            if not target.exists():
                with zipfile.ZipFile(package) as archive:
                    archive.extractall(target)
            return target
    raise AssertionError(f"no package in .chalice/deployments is the code of {function}")


@dataclass
class DeployedFunction:
    """A deployed function's configuration and temporary credentials of its own role."""

    configuration: dict[str, Any]
    credentials: dict[str, str]


def deployed_function(rehearsal: Rehearsal, function: str) -> DeployedFunction:
    configuration = function_configuration(rehearsal, function)
    answer = rehearsal.client("sts").assume_role(
        RoleArn=configuration["Role"], RoleSessionName=configuration["FunctionName"]
    )
    credentials = answer["Credentials"]
    return DeployedFunction(
        configuration,
        {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        },
    )


@contextlib.contextmanager
def permissions_enforced(rehearsal: Rehearsal) -> Iterator[None]:
    """moto checks each request against the caller's IAM policies, as AWS does, until the end."""
    import requests

    if str(HARNESS) not in sys.path:
        sys.path.insert(0, str(HARNESS))
    from iam_actions import iam_action_names_as_aws

    requests.post(f"{rehearsal.endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        with iam_action_names_as_aws():
            yield
    finally:
        requests.post(f"{rehearsal.endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)


def invoke(
    rehearsal: Rehearsal, function: DeployedFunction, event: dict[str, Any], package: Path
) -> Any:
    """Run a deployed function's handler on ``event`` as Lambda would: its package, its settings,
    its role's credentials."""
    configuration = function.configuration
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    env = {
        "PATH": os.environ["PATH"],
        # Lambda's Python runtime supplies boto3; everything else comes from the package.
        "PYTHONPATH": f"{package}{os.pathsep}{site_packages}",
        "AWS_ENDPOINT_URL": rehearsal.endpoint,
        **function.credentials,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": configuration["FunctionName"],
        **configuration["Environment"]["Variables"],
    }
    result = subprocess.run(
        [sys.executable, "-S", str(HARNESS / "invoke.py"), configuration["Handler"]]
        + [str(configuration["Timeout"])],
        input=json.dumps(event),
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def role_s3(rehearsal: Rehearsal, function: DeployedFunction) -> Any:
    """An S3 client with the function's role."""
    import boto3

    credentials = {k.lower(): v for k, v in function.credentials.items()}
    session = boto3.session.Session(region_name=REGION, **credentials)
    return session.client("s3", endpoint_url=rehearsal.endpoint)


def denied(rehearsal: Rehearsal, function: DeployedFunction, call: str, **params: Any) -> bool:
    """Whether S3 refuses ``call`` to the function's role."""
    from botocore.exceptions import ClientError

    try:
        getattr(role_s3(rehearsal, function), call)(**params)
    except ClientError as error:
        return error.response["Error"]["Code"] == "AccessDenied"
    return False


def gateway_event(method: str, path: str, body: str | None, headers: dict[str, str]) -> dict:
    """An API Gateway (REST, Lambda proxy) event for ``path`` on the ``api`` stage."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule_arn.split(":")[4],
        "time": "2026-11-26T03:00:00Z",
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


def receive_all(rehearsal: Rehearsal, function: DeployedFunction, url: str) -> list[list[dict]]:
    """Every message waiting in the queue, received and deleted with ``function``'s role."""
    import boto3

    credentials = {k.lower(): v for k, v in function.credentials.items()}
    session = boto3.session.Session(region_name=REGION, **credentials)
    sqs = session.client("sqs", endpoint_url=rehearsal.endpoint)
    batches = []
    while received := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages"):
        batches.append(received)
        for message in received:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return batches


def sqs_event(messages: list[dict], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS poller sends the function for one batch of messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def test_the_deployed_handlers_store_tag_and_count_a_drawing_under_their_own_roles(
    rehearsal, tmp_path
):
    package = unpacked_function(rehearsal, "api_handler", tmp_path / "package")
    assert unpacked_function(rehearsal, "on_new_drawing", package) == package
    api = deployed_function(rehearsal, "api_handler")
    scorer = deployed_function(rehearsal, "on_new_drawing")
    refit = deployed_function(rehearsal, "refit_and_rescore")
    rescorer = deployed_function(rehearsal, "rescore_drawings")
    sqs = rehearsal.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=rehearsal.names["queue"])["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    rule = schedule_of(rehearsal, refit)
    drawings, contributors = rehearsal.names["drawings"], rehearsal.names["contributors"]
    body = drawing_body()
    ref = DrawingRef(body["alphabet"], body["letter"], body["id"])
    headers = {
        "Content-Type": "application/json",
        "Origin": rehearsal.site_url,
        "CloudFront-Viewer-Country": "KZ",
        "X-Comnist-Origin": origin_secret(rehearsal),
    }
    contributor = {
        "session": body["session"],
        "name": "Айгерим",
        "consent": {"thanks_page": True, "updates": False},
        "count": 1,
    }
    record_key = f"contributors/{body['session']}.json"
    s3 = rehearsal.client("s3")
    with permissions_enforced(rehearsal):
        drawing = gateway_event("POST", "/drawings", json.dumps(body), headers)
        posted = invoke(rehearsal, api, drawing, package)
        assert posted["statusCode"] == 201, posted
        assert posted["headers"]["Access-Control-Allow-Origin"] == rehearsal.site_url
        assert invoke(rehearsal, api, drawing, package)["statusCode"] == 200, "a replay"

        png = role_s3(rehearsal, scorer).head_object(Bucket=drawings, Key=ref.png_key)
        event = s3_object_created_event(drawings, ref.png_key, png["ContentLength"], png["ETag"])
        event["Records"][0]["awsRegion"] = REGION
        tagged = invoke(rehearsal, scorer, event, package)

        refitted = invoke(rehearsal, refit, scheduled_event(rule["Arn"]), package)
        # Lambda's poller, as the rescore function's role: receive, invoke, delete.
        batches = receive_all(rehearsal, rescorer, queue_url)
        rescored = [
            invoke(rehearsal, rescorer, sqs_event(batch, queue_arn), package) for batch in batches
        ]
        again = invoke(rehearsal, refit, scheduled_event(rule["Arn"]), package)
        stats = invoke(rehearsal, api, gateway_event("GET", "/stats", None, headers), package)
        for status in (201, 200):
            sent = gateway_event("POST", "/contributors", json.dumps(contributor), headers)
            answer = invoke(rehearsal, api, sent, package)
            assert answer["statusCode"] == status, answer

        for function in (api, scorer):
            assert denied(rehearsal, function, "get_object", Bucket=contributors, Key=record_key)
            assert denied(rehearsal, function, "list_objects_v2", Bucket=contributors)
        assert denied(rehearsal, scorer, "put_object", Bucket=contributors, Key=record_key)
        assert denied(
            rehearsal,
            api,
            "put_object_tagging",
            Bucket=drawings,
            Key=ref.png_key,
            Tagging={"TagSet": [{"Key": "verdict", "Value": "ok"}]},
        )
        assert denied(rehearsal, api, "get_object", Bucket=drawings, Key="models/current.json")

    head = s3.head_object(Bucket=drawings, Key=ref.png_key)
    assert head["ContentType"] == "image/png"
    record = json.loads(s3.get_object(Bucket=drawings, Key=ref.record_key)["Body"].read())
    assert record["country"] == "KZ" and record["letter"] == "Ж"
    tag_set = s3.get_object_tagging(Bucket=drawings, Key=ref.png_key)["TagSet"]
    tags = {tag["Key"]: tag["Value"] for tag in tag_set}
    assert tags["status"] == tagged["status"] and tags["status"] in ("ok", "suspicious", "unscored")

    current = json.loads(s3.get_object(Bucket=drawings, Key="models/current.json")["Body"].read())
    assert current["version"] == refitted["model"] and refitted["rescore"]["sent"] == 1
    assert [len(batch) for batch in batches] == [1] and rescored == [{tags["status"]: 1}]
    assert tags["model"] == refitted["model"], "rescored by the queue's function"
    assert again["model"] == refitted["model"] and again["refitted"] == []
    assert again["rescore"]["sent"] == 0 and receive_all(rehearsal, rescorer, queue_url) == []
    assert stats["statusCode"] == 200
    counts = json.loads(stats["body"])["alphabets"]["cyrillic"]
    # The goal counts the drawing unless the sanitizer flagged it.
    expected = int(tags["status"] not in ("suspicious", "invalid"))
    assert counts["letters"]["Ж"] == expected and counts["total"] == expected
    stored = s3.get_object(Bucket=contributors, Key=record_key)
    assert json.loads(stored["Body"].read())["name"] == "Айгерим"


def schedule_of(rehearsal: Rehearsal, function: DeployedFunction) -> dict[str, Any]:
    """The schedule rule whose target is ``function``."""
    events = rehearsal.client("events")
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if [t["Arn"] for t in targets] == [function.configuration["FunctionArn"]]:
            return rule
    raise AssertionError(f"no schedule runs {function.configuration['FunctionName']}")


def origin_secret(rehearsal: Rehearsal) -> str:
    """The secret the stage's CloudFront distribution sends the API, as bootstrap recorded it."""
    config = json.loads((rehearsal.project / ".chalice" / "config.json").read_text())
    return config["stages"][STAGE]["environment_variables"]["COMNIST_ORIGIN_SECRET"]


def test_the_api_stage_is_throttled_and_its_function_has_reserved_concurrency(rehearsal):
    apigateway = rehearsal.client("apigateway")
    (api,) = apigateway.get_rest_apis()["items"]
    stage = apigateway.get_stage(restApiId=api["id"], stageName="api")
    throttle = stage["methodSettings"]["*/*"]
    assert (throttle["throttlingRateLimit"], throttle["throttlingBurstLimit"]) == (50.0, 100)
    assert "throttled the API to 50/s, bursts of 100" in rehearsal.outputs["route"]
    name = lambda_name(APP, STAGE, "api_handler")
    concurrency = rehearsal.client("lambda").get_function_concurrency(FunctionName=name)
    assert concurrency["ReservedConcurrentExecutions"] == 20
    for function in ("on_new_drawing", "refit_and_rescore", "sweep_orphans"):
        other = rehearsal.client("lambda").get_function_concurrency(
            FunctionName=lambda_name(APP, STAGE, function)
        )
        assert "ReservedConcurrentExecutions" not in other, "the others share the account's"


def test_both_data_buckets_keep_versions_that_expire(rehearsal):
    s3 = rehearsal.client("s3")
    for kind in ("drawings", "contributors"):
        bucket = rehearsal.names[kind]
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
        assert rules["old-versions-expire"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    rules = s3.get_bucket_lifecycle_configuration(Bucket=rehearsal.names["drawings"])["Rules"]
    assert any(r["Filter"].get("Prefix") == "limits/" for r in rules)


def test_the_api_refuses_what_did_not_come_through_cloudfront_and_never_deletes(
    rehearsal, tmp_path
):
    package = unpacked_function(rehearsal, "api_handler", tmp_path / "package")
    api = deployed_function(rehearsal, "api_handler")
    sweeper = deployed_function(rehearsal, "sweep_orphans")
    cloudfront = rehearsal.client("cloudfront")
    (summary,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]["Items"]}
    secret = origin_secret(rehearsal)
    assert origins["api"]["CustomHeaders"]["Items"] == [
        {"HeaderName": "X-Comnist-Origin", "HeaderValue": secret}
    ]
    body = drawing_body()
    direct = {"Content-Type": "application/json", "CloudFront-Viewer-Country": "AQ"}
    drawings = rehearsal.names["drawings"]
    sweep_rule = schedule_of(rehearsal, sweeper)
    with permissions_enforced(rehearsal):
        for headers in (direct, {**direct, "X-Comnist-Origin": "a guess"}):
            sent = gateway_event("POST", "/drawings", json.dumps(body), headers)
            answer = invoke(rehearsal, api, sent, package)
            assert answer["statusCode"] == 403, answer
            assert "through the site" in json.loads(answer["body"])["error"]
        stats = invoke(rehearsal, api, gateway_event("GET", "/stats", None, direct), package)
        assert stats["statusCode"] == 403
        for prefix in ("drawings", "strokes", "requests", "limits"):
            key = f"{prefix}/x.json"
            assert denied(rehearsal, api, "delete_object", Bucket=drawings, Key=key), prefix
        swept = invoke(rehearsal, sweeper, scheduled_event(sweep_rule["Arn"]), package)
        assert swept == {"records": 0, "claims": 0}
        assert denied(
            rehearsal, sweeper, "delete_object", Bucket=drawings, Key="drawings/cyrillic/a.png"
        ), "the sweep never deletes a drawing"
    assert (
        not rehearsal.client("s3")
        .list_objects_v2(Bucket=drawings, Prefix=f"requests/{body['id']}")
        .get("Contents")
    ), "nothing of a refused request is stored"
    grants = policy_grants(
        json.loads(
            (rehearsal.project / ".chalice" / f"policy-{STAGE}-api_handler.json").read_text()
        )
    )
    assert not [action for action, _ in grants if action == "s3:DeleteObject"]


def test_chalice_delete_removes_what_deploy_created(rehearsal):
    """Runs last: the other tests read what the deploy left."""
    rehearsal.run(BIN / "chalice", "delete", "--stage", STAGE, cwd=rehearsal.project)
    assert rehearsal.client("lambda").list_functions()["Functions"] == []
    assert rehearsal.client("apigateway").get_rest_apis()["items"] == []
    assert rehearsal.client("events").list_rules()["Rules"] == []
    roles = rehearsal.client("iam").list_roles()["Roles"]
    assert not [r["RoleName"] for r in roles if r["RoleName"].startswith(f"{APP}-{STAGE}")]
    notification = rehearsal.client("s3").get_bucket_notification_configuration(
        Bucket=rehearsal.names["drawings"]
    )
    assert not notification.get("LambdaFunctionConfigurations")
