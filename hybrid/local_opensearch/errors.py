"""Errors of the local OpenSearch manager: domain words only, mapped to exit codes by the CLI."""


class ManagerError(Exception):
    """Base class: anything the manager refuses or cannot do, with a message meant for a person."""


class JavaNotFoundError(ManagerError):
    """No Java runtime that this OpenSearch version supports was found."""


class ArtifactError(ManagerError):
    """An artifact could not be resolved, downloaded or verified."""


class NotInstalledError(ManagerError):
    """The distribution has not been installed yet."""


class PortInUseError(ManagerError):
    """The requested port is already bound by another process."""


class NodeStartError(ManagerError):
    """The node exited or did not become healthy in time; the message carries the tail of its log."""
