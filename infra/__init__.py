"""Deployment: CloudFormation rendered from the models, merged into Chalice's package."""
