"""Model definitions that Tortoise's migrations can carry."""

from __future__ import annotations

import inspect

from tortoise.models import Model

from ureport import models
from ureport.flows.session import RunStatus as EngineRunStatus


def test_model_docstrings_have_no_semicolons() -> None:
    # Tortoise turns a model's docstring into a table comment and splits its SQL on ';'.
    for _, model in inspect.getmembers(models, lambda m: inspect.isclass(m) and issubclass(m, Model)):
        assert ";" not in (model.__doc__ or ""), model.__name__


def test_every_engine_run_status_can_be_stored() -> None:
    assert {s.value for s in EngineRunStatus} <= {s.value for s in models.RunStatus}
