#!/usr/bin/env bash
# Deploy Leadflow into the AWS account of your current credentials (see docs/deployment.md).
#
#   infra/deploy.sh STAGE BUCKET
#
# STAGE   a stage of .chalice/config.json (dev, prod); the stack is named leadflow-STAGE.
# BUCKET  an S3 bucket you own, in the deploy region, that receives the Lambda code zip.
#
# Needs the AWS CLI v2 and credentials (AWS_PROFILE or the usual AWS_* variables); the region
# is the CLI's (AWS_REGION, AWS_DEFAULT_REGION or the profile). Re-running it is safe: an
# unchanged stack is left alone, a changed one is updated through a change set.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  sed -n '4,7p' "$0" >&2
  exit 2
fi
stage=$1
bucket=$2
stack="leadflow-$stage"
out=build/package

cd "$(dirname "$0")/.."
command -v aws >/dev/null || { echo "deploy.sh: the AWS CLI is not installed" >&2; exit 1; }

# 1. sam.json (Chalice's functions, API and roles + the tables rendered from the models)
#    and deployment.zip (the code with requirements.txt installed for Lambda).
make package STAGE="$stage"

# 2. Upload the zip and point the template at it.
aws cloudformation package \
  --template-file "$out/sam.json" \
  --s3-bucket "$bucket" \
  --s3-prefix "leadflow/$stage" \
  --output-template-file "$out/packaged.yaml"

# 3. Create or update the stack. CAPABILITY_IAM: Chalice creates the Lambda roles;
#    CAPABILITY_AUTO_EXPAND: the template is SAM and expands into plain CloudFormation.
aws cloudformation deploy \
  --template-file "$out/packaged.yaml" \
  --stack-name "$stack" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
  --tags "leadflow:stage=$stage" \
  --no-fail-on-empty-changeset

# 4. Show the endpoint and table names.
aws cloudformation describe-stacks \
  --stack-name "$stack" \
  --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" \
  --output table
