"""Every clinical number of the brief, in one place.

The triage rules, the check-in rules, the charts and the templates (as `limits`) all read them
from here, so changing one (with its source in the clinical brief) changes it everywhere, words
included.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    # R9 pain monitoring: pain during activity
    safe_pain: int = 2  # 0-2 safe
    acceptable_pain: int = 5  # 3-5 acceptable, more is too much
    # R10 phase gates
    gate_pain: int = 3  # moving up needs pain under 3/10
    raises_for_strength: int = 10  # fewer single-leg heel raises: phase 1
    raises_for_spring: int = 20  # P2 -> P3
    volume_for_full_running: float = 0.8  # P3 -> P4: at least 80% of the usual week
    # Phase 1 signs
    long_stiffness_minutes: int = 30
    # R3: tendon pain during or this many months after a fluoroquinolone
    antibiotic_months: int = 6
    # R5 inflammatory
    inflammatory_stiffness_minutes: int = 60
    # R13 severe pain
    severe_pain: int = 8
    # R7
    adult_age: int = 18
    # R8
    weeks_of_loading_before_referral: int = 12
    # R12 load spike
    weekly_spike: float = 1.3  # weekly volume up more than 30%
    # R1 from the heel-raise test: 0 raises (any onset); after a sudden onset fewer than
    # `rupture_raises_after_sudden_onset`, or fewer than this fraction of the other side's.
    rupture_raises_after_sudden_onset: int = 10
    rupture_fraction_of_other_side: float = 0.5
    # VISA-A, the clinics' outcome score (0-100), entered from elsewhere: never its questions
    visa_meaningful_change: int = 10
    visa_recovered: int = 90
    # Check-ins (R9 day by day)
    checkins_for_a_week: int = 5  # a week is weighed on at least this many check-ins
    bad_mornings_in_a_week: int = 3


THRESHOLDS = Thresholds()
