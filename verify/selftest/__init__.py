"""What the suite can detect: planted errors (mutations) and the kill matrix.

A PASS is evidence only if the same check would say FAIL were the theory or the code wrong.
:mod:`verify.selftest.mutations` plants plausible errors through injection points;
:mod:`verify.selftest.matrix` runs the claims under each and tabulates which claim kills
which error, and runs the correct code at many seeds to measure the false-alarm rate.
"""

from .matrix import KillMatrix, SeedRun, false_alarm_run, kill_matrix
from .mutations import MUTATIONS, Mutation

__all__ = ["MUTATIONS", "KillMatrix", "Mutation", "SeedRun", "false_alarm_run", "kill_matrix"]
