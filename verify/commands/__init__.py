"""The handlers of ``learnwin``'s own commands; :mod:`verify.cli` parses and dispatches.

Each handler takes the parsed arguments and returns the exit status.  The rooms with a
command of their own register it themselves (``experiment``: :mod:`verify.training.command`,
``selftest``: :mod:`verify.selftest.command`).

Modules
-------
:mod:`.usage`
    What every handler shares: :class:`~.usage.UsageError`, the exit codes, the checks made
    before any work, the atomic JSON output.
:mod:`.suite`
    ``verify`` and ``report``: run the claims, print the summary, write the report.
:mod:`.formula`
    ``formula``: closed forms and numbers for one envelope law.
:mod:`.window`
    ``window``: a trained network's envelope, fitted law and learnability window.
"""
