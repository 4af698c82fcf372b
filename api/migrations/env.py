"""Alembic environment: the database URL comes from the api's Settings, never from alembic.ini."""

from alembic import context

import api.models  # noqa: F401  (registers the tables on Base.metadata)
from api.db import Base, get_engine

target_metadata = Base.metadata


def run_migrations() -> None:
    with get_engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
