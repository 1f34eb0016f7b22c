"""Money management on the posting path, whatever posts: every line's category before the
postings are written, the spending aggregates and budget crossings after (ledger/posting.py's
BEFORE_WRITE and AFTER_WRITE). Imported once by the app (app.py) and so by its commands."""
from ..ledger import posting
from .categorize import categorize
from .spending import record_spending

if categorize not in posting.BEFORE_WRITE:
    posting.BEFORE_WRITE.append(categorize)
if record_spending not in posting.AFTER_WRITE:
    posting.AFTER_WRITE.append(record_spending)
