"""The demo city: a reproducible synthetic city of residents, enterprises and departments' flawed registries."""

from shuzhi.demo.catalog import DatasetSpec, FieldSpec
from shuzhi.demo.departments import DepartmentSpec, UserSpec
from shuzhi.demo.generate import AS_OF, DEFAULT_SEED, CityManifest, generate

__all__ = [
    "AS_OF",
    "DEFAULT_SEED",
    "CityManifest",
    "DatasetSpec",
    "DepartmentSpec",
    "FieldSpec",
    "UserSpec",
    "generate",
]
