"""Each command's work, without click: no printing, no exiting.

A command takes the resolved settings of one invocation (:class:`Invocation`) and returns
an outcome (:class:`~harborguard.commands.outcome.Outcome`): the report, whether a finding
is at or above --fail-on, whether anything is incomplete, and the lines to say first.
harborguard.cli parses the command line into an Invocation, calls one function here, and
turns the outcome into output and an exit code.
"""

from harborguard.commands.invocation import Invocation
from harborguard.commands.outcome import Outcome

__all__ = ["Invocation", "Outcome"]
