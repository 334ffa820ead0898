#!/usr/bin/env bash
# Deploys tracelake's Lambda functions into LocalStack with the AWS CLI:
# the traces bucket (with the template's lifecycle tiers), one role, the
# ingest, query and compact functions from the package `make
# lambda-package` built, Function URLs for ingest and query, and an
# EventBridge schedule for compaction.
#
# LocalStack runs it when it is ready (docker-compose.yml mounts this
# directory as /etc/localstack/init/ready.d). From the host:
#
#   AWS_ENDPOINT_URL=http://localhost:4566 TRACELAKE_LAMBDA_ZIP_DIR=bin/lambda localstack/init/ready.d/deploy.sh
#
# TRACELAKE_AUTH_TOKEN, when set, is required by both URLs (Authorization: Bearer).
set -euo pipefail

endpoint=${AWS_ENDPOINT_URL:-http://localhost:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=""
aws() { command aws --endpoint-url "$endpoint" "$@"; }

bucket=${TRACELAKE_BUCKET:-traces}
case "$(uname -m)" in
	aarch64 | arm64) arch=arm64 ;;
	*) arch=x86_64 ;;
esac
zip=${TRACELAKE_LAMBDA_ZIP:-${TRACELAKE_LAMBDA_ZIP_DIR:-/opt/tracelake}/tracelake-$arch.zip}
if [ ! -f "$zip" ]; then
	echo "deploy.sh: $zip not found: run 'make lambda-package' first" >&2
	exit 1
fi

echo "== bucket s3://$bucket"
aws s3api head-bucket --bucket "$bucket" 2>/dev/null || aws s3api create-bucket --bucket "$bucket" >/dev/null
aws s3api put-bucket-lifecycle-configuration --bucket "$bucket" --lifecycle-configuration '{
  "Rules": [
    {"ID": "abort-incomplete-uploads", "Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
    {"ID": "warm-and-cold-tiers", "Status": "Enabled", "Filter": {"ObjectSizeGreaterThan": 131072},
     "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 90, "StorageClass": "GLACIER_IR"}]},
    {"ID": "retention", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 365}}
  ]}'

echo "== role"
role_arn=$(aws iam get-role --role-name tracelake-lambda --query Role.Arn --output text 2>/dev/null || aws iam create-role --role-name tracelake-lambda \
	--assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
	--query Role.Arn --output text)

# Inside a function's container LocalStack answers at localhost.localstack.cloud.
storage="s3://$bucket?endpoint=localhost.localstack.cloud:4566&insecure=true&path-style=true"
for role in ingest query compact; do
	fn=tracelake-$role
	memory=128 timeout=30
	if [ "$role" = compact ]; then memory=1024 timeout=900; fi
	vars="\"TRACELAKE_ROLE\":\"$role\",\"TRACELAKE_STORAGE_URL\":\"$storage\""
	if [ -n "${TRACELAKE_AUTH_TOKEN:-}" ] && [ "$role" != compact ]; then
		vars="$vars,\"TRACELAKE_AUTH_TOKEN\":\"$TRACELAKE_AUTH_TOKEN\""
	fi
	echo "== function $fn"
	if aws lambda get-function --function-name "$fn" >/dev/null 2>&1; then
		aws lambda update-function-code --function-name "$fn" --zip-file "fileb://$zip" >/dev/null
		aws lambda wait function-updated-v2 --function-name "$fn"
		aws lambda update-function-configuration --function-name "$fn" --environment "{\"Variables\":{$vars}}" >/dev/null
	else
		aws lambda create-function --function-name "$fn" --runtime provided.al2023 --handler bootstrap \
			--architectures "$arch" --zip-file "fileb://$zip" --role "$role_arn" \
			--memory-size "$memory" --timeout "$timeout" --environment "{\"Variables\":{$vars}}" >/dev/null
	fi
	aws lambda wait function-active-v2 --function-name "$fn"
	if [ "$role" != compact ]; then
		aws lambda get-function-url-config --function-name "$fn" >/dev/null 2>&1 ||
			aws lambda create-function-url-config --function-name "$fn" --auth-type NONE >/dev/null
		aws lambda add-permission --function-name "$fn" --statement-id url-public --action lambda:InvokeFunctionUrl \
			--principal '*' --function-url-auth-type NONE >/dev/null 2>&1 || true
	fi
done

echo "== schedule"
rule_arn=$(aws events put-rule --name tracelake-compact --schedule-expression 'rate(1 minute)' --query RuleArn --output text)
aws lambda add-permission --function-name tracelake-compact --statement-id schedule --action lambda:InvokeFunction \
	--principal events.amazonaws.com --source-arn "$rule_arn" >/dev/null 2>&1 || true
compact_arn=$(aws lambda get-function --function-name tracelake-compact --query Configuration.FunctionArn --output text)
aws events put-targets --rule tracelake-compact --targets "Id=compact,Arn=$compact_arn" >/dev/null

echo "== ready"
echo "ingest URL: $(aws lambda get-function-url-config --function-name tracelake-ingest --query FunctionUrl --output text)"
echo "query URL:  $(aws lambda get-function-url-config --function-name tracelake-query --query FunctionUrl --output text)"
