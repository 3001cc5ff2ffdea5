"""Enrollment models: the school directory (directory.py) and taking part in the service
(participation.py: survey, notice, application, agreement, leave, withdrawal), and the
generated documents (documents.py)."""

from .directory import *  # noqa: F403
from .directory import GRADE_NAMES, MOBILE_RE, mask_mobile, mask_note, mobile_validator  # noqa: F401
from .documents import *  # noqa: F403
from .participation import *  # noqa: F403
