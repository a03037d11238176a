"""SQL expressions the ORM lacks, written per database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import FloatField, Func
from django.db.models.sql.compiler import SQLCompiler


class Seconds(Func):
    """`end - start` in seconds, computed by the database.

    Django's DurationField arithmetic works on SQLite through a Python
    function called once per row: far too slow summed over 100,000 sessions.
    """

    output_field = FloatField()

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def _operands(self, compiler: SQLCompiler) -> tuple[str, str, tuple[Any, ...]]:
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return end_sql, start_sql, (*end_params, *start_params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        end, start, params = self._operands(compiler)
        return f"((julianday({end}) - julianday({start})) * 86400.0)", params

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        end, start, params = self._operands(compiler)
        return f"EXTRACT(EPOCH FROM ({end} - {start}))::double precision", params

    def as_sql(self, compiler: Any, connection: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotSupportedError(f"Seconds() has no SQL for {connection.vendor}")
