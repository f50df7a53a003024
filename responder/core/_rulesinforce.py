"""
The rules a factory answers by, and where they come from.
"""

from twisted.logger import Logger

from ..config import ResponderConfig
from ..rules import Rules, RulesError, loadRules


class RulesInForce:
    """
    The rules of the C{--rules} file as last loaded (C{fileRules}), or those
    the control API put in force (C{rules}, which the protocol reads at
    every request).  A mixin of L{responder.core.ResponderFactory}, as
    Twisted's C{TimeoutMixin} is of protocols: it only needs the factory's
    configuration and log.

    @ivar rules: the L{Rules} in force, or C{None}.
    @ivar fileRules: the rules of the C{--rules} file, or C{None}.
    """

    config: ResponderConfig
    log: Logger
    rules: Rules | None
    fileRules: Rules | None

    def loadRulesFile(self) -> None:
        """
        Put the C{--rules} file's rules in force, if there is one.

        @raise RulesError: if it cannot be used.
        """
        config = self.config
        self.rules = None
        if config.rules is not None:
            self.rules = loadRules(config.rules, config.rulesOutsideFolder)
        self.fileRules = self.rules

    def setRules(self, rules: Rules | None) -> None:
        """
        Put C{rules} in force from the next request on (C{None}: answer
        every request with the default response).
        """
        self.rules = rules

    def resetRules(self) -> None:
        """
        Go back to the rules of the C{--rules} file as last loaded, or to
        none: read nothing, so a reset cannot fail.
        """
        self.rules = self.fileRules

    def reloadRules(self) -> None:
        """
        Read the rules file again (on SIGHUP).  A bad file keeps the rules
        in force, and the log says why.
        """
        if self.config.rules is None:
            return
        try:
            rules = loadRules(self.config.rules, self.config.rulesOutsideFolder)
        except RulesError as e:
            self.log.error("rules not reloaded, keeping the old ones: {error}", error=e)
            return
        self.rules = self.fileRules = rules
        self.logRules("reloaded")

    def logRules(self, verb: str) -> None:
        """
        Say which rules are in force, at start (C{verb} "loaded") and after
        a reload: an empty rules file is accepted, but said so, since every
        request then gets the default response.
        """
        rules = self.rules
        if rules is None:
            return
        if rules.rules:
            self.log.info(
                "{verb} {count} rules from {source}",
                verb=verb,
                count=len(rules.rules),
                source=rules.source,
            )
        else:
            self.log.warn(
                "{verb} no rules from {source}: every request gets the "
                "default response",
                verb=verb,
                source=rules.source,
            )
