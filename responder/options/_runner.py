"""
How responder fits the command that runs it: twistd, twist, or neither (a
tac file, an embedding application).

The plugin's options are parsed inside the runner's own option parsing
(they are its sub-command), and the runner reads its options, the log
observer among them, only afterwards.  So the plugin can look at the
runner's log settings to decide where request lines go, and can name a
JSON observer for the runner to install, or drop a pid file that would
stop a second instance.
"""

import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

from twisted.logger import textFileLogObserver

from ..logs import JSONLogObserver

Runner = Mapping[str, Any]

_JSON_OBSERVER = "responder.logs.stdoutJSONObserver"
_TEXT_OBSERVER = "responder.logs.stdoutTextObserver"
# twistd's default --pidfile, in the working directory.
_TWISTD_PIDFILE = "twistd.pid"


def isTwistd(runner: Runner) -> bool:
    return "nodaemon" in runner


def isTwist(runner: Runner) -> bool:
    return "logFile" in runner


def useJSONLog(runner: MutableMapping[str, Any] | None) -> None:
    """
    Make the runner log JSON lines instead of text.  twistd gets
    C{--logger responder.logs.stdoutJSONObserver}, which writes to
    stdout; twist gets a JSON observer for its own C{--log-file}.  A tac
    file sets the observer on its application itself.

    @raise ValueError: for twistd settings that JSON on stdout cannot
        honour: a log file, syslog, another C{--logger}, or running as a
        daemon (which closes stdout).
    """
    if runner is None:
        return
    if isTwistd(runner):
        if runner["logger"] is not None:
            raise ValueError("--log-format json replaces twistd --logger: use one")
        if runner["logfile"] not in (None, "-") or runner["syslog"]:
            raise ValueError(
                "--log-format json writes to stdout: drop twistd's --logfile/--syslog"
            )
        if not runner["nodaemon"]:
            raise ValueError(
                "--log-format json writes to stdout, which a daemon closes: "
                "run twistd with --nodaemon"
            )
        runner["logger"] = _JSON_OBSERVER
    elif isTwist(runner):
        runner["fileLogObserverFactory"] = JSONLogObserver


def useStdoutText(runner: MutableMapping[str, Any] | None) -> None:
    """
    Where twistd would log text to stdout with its stock observer, have it
    use responder's, which writes the same lines but never blocks (see
    L{responder.logs.LogWriter}): a stdout nobody reads must not stall the
    reactor.
    """
    if runner is None or not isTwistd(runner):
        return
    toStdout = runner["nodaemon"] and runner["logfile"] in (None, "-")
    if toStdout and runner["logger"] is None and not runner["syslog"]:
        runner["logger"] = _TEXT_OBSERVER


def dropForegroundPidFile(runner: MutableMapping[str, Any] | None) -> None:
    """
    Let a foreground twistd (C{--nodaemon}) write no pid file when it would
    write twistd's default C{twistd.pid}.  A process in the foreground is
    known to whatever started it (a shell, systemd, a container runtime, a
    test), and the default file in the working directory would only make a
    second instance there exit with "Another twistd server is running".
    A daemon keeps its pid file, which is how it is found and stopped, and
    so does any C{--pidfile} other than the default.
    """
    if runner is None or not isTwistd(runner) or not runner["nodaemon"]:
        return
    if runner.get("pidfile") == _TWISTD_PIDFILE:
        runner["pidfile"] = ""


def resolveRequestLog(choice: str, logFormat: str, runner: Runner | None) -> str:
    """
    Decide where request lines go for C{--request-log auto}: straight to
    stdout when the runner's log goes to stdout in the same format anyway,
    otherwise through twisted.logger, so that they follow C{--logfile},
    C{--syslog} or another observer.

    @param runner: the options of the command that runs the plugin (twistd's
        or twist's), or C{None} when there is none to ask (a tac file).
    """
    if choice != "auto":
        return choice
    if runner is None:
        return "twisted"
    if isTwistd(runner):
        toStdout = runner["nodaemon"] and runner["logfile"] in (None, "-")
        ours = runner["logger"] in (None, _JSON_OBSERVER, _TEXT_OBSERVER)
        return "stdout" if toStdout and ours and not runner["syslog"] else "twisted"
    if isTwist(runner):
        factory = runner.get("fileLogObserverFactory")
        if factory is None:  # twist's own default: text on a terminal
            factory = textFileLogObserver if runner["logFile"].isatty() else None
        wanted = JSONLogObserver if logFormat == "json" else textFileLogObserver
        toStdout = runner["logFile"] is sys.stdout
        return "stdout" if toStdout and factory is wanted else "twisted"
    return "twisted"
