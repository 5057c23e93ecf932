"""Calendar arithmetic for policy durations."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from petitio.authorities.models import ResponsePolicy


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def closing_time(policy: ResponsePolicy, opened_at: datetime) -> datetime:
    return add_months(opened_at, policy.open_months) + timedelta(days=policy.open_days)
