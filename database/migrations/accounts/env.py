from database.migrations.env_common import run
from services.accounts.models import Base

run(Base.metadata)
