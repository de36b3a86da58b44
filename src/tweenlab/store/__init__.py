"""Storage: the database models, engines and sessions, and schema migrations.

The server and the services reach the database only through here; nothing is connected at
import. ``Database(url)`` owns an engine; ``upgrade(url)`` migrates; ``check_migrated(engine)``
refuses a database whose schema is not this code's.
"""

from tweenlab.store.database import (
    Database,
    checks_first,
    database_error_reason,
    make_engine,
    shown_url,
)
from tweenlab.store.migrate import (
    UPGRADE_COMMAND,
    check_migrated,
    current_revision,
    head_revision,
    is_migrated,
    upgrade,
)
from tweenlab.store.models import (
    ApiToken,
    Base,
    BrowserSession,
    HeartbeatRow,
    Job,
    JournalRow,
    LoginFailure,
    Membership,
    Project,
    ReviewComment,
    ReviewIssue,
    Task,
    TaskEventRow,
    TrackRow,
    User,
    Video,
    utc_now,
)

__all__ = [
    "UPGRADE_COMMAND",
    "ApiToken",
    "Base",
    "BrowserSession",
    "Database",
    "HeartbeatRow",
    "Job",
    "JournalRow",
    "LoginFailure",
    "Membership",
    "Project",
    "ReviewComment",
    "ReviewIssue",
    "Task",
    "TaskEventRow",
    "TrackRow",
    "User",
    "Video",
    "check_migrated",
    "checks_first",
    "current_revision",
    "database_error_reason",
    "head_revision",
    "is_migrated",
    "make_engine",
    "shown_url",
    "upgrade",
    "utc_now",
]
