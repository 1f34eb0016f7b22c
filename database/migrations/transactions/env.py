from database.migrations.env_common import run
from services.transactions.models import Base

run(Base.metadata)
