"""Every domain's tables, gathered so migrations and checks see one metadata."""

from shuzhi.catalog import models as _catalog  # noqa: F401
from shuzhi.classify import models as _classify  # noqa: F401
from shuzhi.exchange import models as _exchange  # noqa: F401
from shuzhi.jobs import models as _jobs  # noqa: F401
from shuzhi.ledger import models as _ledger  # noqa: F401
from shuzhi.orgs import models as _orgs  # noqa: F401
from shuzhi.store.base import Base

# Domains add their model modules here as they gain tables.

metadata = Base.metadata
