"""The listing's lightweight tables name only tables and columns the models have."""

from __future__ import annotations

from storage.models import Base
from storage.repositories.listings import TABLES


def test_every_table_and_column_of_the_listings_is_the_models() -> None:
    for light in TABLES:
        model = Base.metadata.tables[light.name]
        assert {c.name for c in light.columns} <= {c.name for c in model.columns}, light.name
