"""Creates the template's tables, queues, KMS keys, topics and their policies, secrets, log groups
and alarms in moto server.

Each resource is created through the same SDK call CloudFormation would make, from the
template's own properties, so a schema or redrive change in template.yaml changes the local
stack and the tests with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from local_stack.template import ACCOUNT_ID, Resolver

Creator = Callable[[str, dict[str, Any]], dict[str, str]]


def _as_bool(value: Any) -> bool:
    return str(value).lower() == "true"


class Provisioner:
    def __init__(
        self, template: Mapping[str, Any], resolver: Resolver, client: Callable[[str], Any], prefix: str
    ) -> None:
        self.template = template
        self.resolver = resolver
        self.prefix = prefix
        self.region = resolver.region
        self.dynamodb = client("dynamodb")
        self.sqs = client("sqs")
        self.sns = client("sns")
        self.secrets = client("secretsmanager")
        self.ssm = client("ssm")
        self.logs = client("logs")
        self.cloudwatch = client("cloudwatch")
        self.kms = client("kms")
        self.created: dict[str, str] = {}  # logical id -> type

    def physical_name(self, logical_id: str) -> str:
        return f"{self.prefix}-{logical_id}"

    def provision(self) -> dict[str, str]:
        creators: dict[str, Creator] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::KMS::Key": self._kms_key,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::TopicPolicy": self._topic_policy,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::IAM::Role": self._role,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::HttpApi": self._http_api,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::CloudWatch::Alarm": self._alarm,
        }
        pending = {
            k: v for k, v in self.template["Resources"].items() if v["Type"] in creators and self._wanted(v)
        }
        # Create in dependency order without a graph: retry whatever referenced a resource that
        # did not exist yet, until a pass makes no progress.
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                try:
                    props = self.resolver.resolve(resource.get("Properties", {}))
                except KeyError:
                    continue
                self.resolver.physical[logical_id] = creators[resource["Type"]](logical_id, props)
                self.created[logical_id] = resource["Type"]
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"cannot resolve references of {sorted(pending)}")
        return self.created

    def _wanted(self, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self.resolver.condition(condition)

    def _table(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("TableName") or self.physical_name(logical_id)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification"):
            if key in props:
                kwargs[key] = props[key]
        if "SSESpecification" in props:
            kwargs["SSESpecification"] = {"Enabled": _as_bool(props["SSESpecification"].get("SSEEnabled"))}
        if "DeletionProtectionEnabled" in props:
            kwargs["DeletionProtectionEnabled"] = _as_bool(props["DeletionProtectionEnabled"])
        description = self.dynamodb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _as_bool(ttl.get("Enabled")):
            self.dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if _as_bool(pitr.get("PointInTimeRecoveryEnabled")):
            self.dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        return {"Ref": name, "Arn": description["TableArn"]}

    def _queue(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("QueueName") or self.physical_name(logical_id)
        attributes: dict[str, str] = {
            key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "SqsManagedSseEnabled")
            if key in props
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
        return {"Ref": url, "QueueUrl": url, "Arn": arn, "QueueName": name}

    def _topic(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("TopicName") or self.physical_name(logical_id)
        attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if "KmsMasterKeyId" in props else {}
        arn = self.sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription", []) or []:
            self.sns.subscribe(
                TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
            )
        return {"Ref": arn, "TopicArn": arn, "TopicName": name}

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        # moto stores the key policy (it does not evaluate it) and SNS there does not encrypt;
        # the key exists so topics, function policies and describe calls see the real shape.
        kwargs: dict[str, Any] = {
            "Description": props.get("Description", ""),
            "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
            "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
        }
        if "KeyPolicy" in props:
            kwargs["Policy"] = json.dumps(props["KeyPolicy"])
        metadata = self.kms.create_key(**kwargs)["KeyMetadata"]
        if _as_bool(props.get("EnableKeyRotation")):
            self.kms.enable_key_rotation(KeyId=metadata["KeyId"])
        return {"Ref": metadata["KeyId"], "KeyId": metadata["KeyId"], "Arn": metadata["Arn"]}

    def _topic_policy(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        # CloudFormation sets each listed topic's Policy attribute (replacing SNS's default one).
        for topic_arn in props["Topics"]:
            self.sns.set_topic_attributes(
                TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(props["PolicyDocument"])
            )
        name = self.physical_name(logical_id)
        return {"Ref": name, "Id": name}

    def _secret(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("Name") or self.physical_name(logical_id)
        arn = self.secrets.create_secret(Name=name, Description=props.get("Description", ""))["ARN"]
        return {"Ref": arn, "Id": arn}

    def _parameter(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("Name") or f"/{self.prefix}/{logical_id}"
        self.ssm.put_parameter(
            Name=name, Value=props["Value"], Type=props.get("Type", "String"), Overwrite=True
        )
        return {"Ref": name}

    def _role(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        # Named so `!GetAtt Role.Arn` resolves; the local stack enforces no IAM (tests/infra
        # checks the policies on the template, after the SAM transform).
        name = self.physical_name(logical_id)
        return {"Ref": name, "Arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}

    def _function(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        # Functions are not deployed anywhere locally: the local stack calls their handlers. Their
        # names exist so log groups and alarms that mention them resolve as in AWS.
        name = self.physical_name(logical_id)
        return {"Ref": name, "Arn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"}

    def _http_api(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        return {"Ref": "local", "ApiEndpoint": "local"}

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("LogGroupName") or f"/{self.prefix}/{logical_id}"
        self.logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            self.logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return {"Ref": name, "Arn": f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}:*"}

    def _alarm(self, logical_id: str, props: dict[str, Any]) -> dict[str, str]:
        name = props.get("AlarmName") or self.physical_name(logical_id)
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=props.get("AlarmDescription", ""),
            Namespace=props["Namespace"],
            MetricName=props["MetricName"],
            Dimensions=props.get("Dimensions", []),
            Statistic=props["Statistic"],
            Period=int(props["Period"]),
            EvaluationPeriods=int(props["EvaluationPeriods"]),
            Threshold=float(props["Threshold"]),
            ComparisonOperator=props["ComparisonOperator"],
            TreatMissingData=props.get("TreatMissingData", "missing"),
            AlarmActions=props.get("AlarmActions", []),
        )
        return {"Ref": name}
