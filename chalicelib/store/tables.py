"""Binding the models to real tables: names and endpoint from Settings, creation for local use."""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.config import Settings
from chalicelib.store.models import MODELS

_BASE_NAMES = {model: model.Meta.table_name for model in MODELS}


def base_name(model: type[Model]) -> str:
    return _BASE_NAMES[model]


_connection: Connection | None = None


def connection() -> Connection:
    """The connection transactions use: the same endpoint and region as the models."""
    global _connection
    if _connection is None:
        meta = MODELS[0].Meta
        _connection = Connection(region=meta.region, host=meta.host)
    return _connection


def bind(settings: Settings) -> None:
    """Point every model at `{prefix}{name}` on the configured endpoint (moto or AWS)."""
    global _connection
    _connection = None
    for model in MODELS:
        model.Meta.table_name = settings.table_prefix + _BASE_NAMES[model]
        model.Meta.region = settings.region
        model.Meta.host = settings.endpoint_url
        model._connection = None
        for index in model._indexes.values():
            index._connection = None


def create_all() -> None:
    """Create missing tables (local stack and tests; AWS gets them from infra/)."""
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=True)
            _enable_ttl(model)


def _enable_ttl(model: type[Model]) -> None:
    ttl = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    if ttl:
        model._get_connection().connection.client.update_time_to_live(
            TableName=model.Meta.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl[0]},
        )


def delete_all() -> None:
    for model in MODELS:
        if model.exists():
            model.delete_table()
