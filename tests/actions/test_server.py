"""The action server gives every action one set of backends per process."""

from rasa_sdk.executor import ActionExecutor

from actions.backends import UsesBackends
from actions.server import share_backends


def test_every_action_of_a_process_shares_one_set_of_backends():
    executor = ActionExecutor()
    executor.register_package("actions")
    backends = share_backends(executor)
    users = [
        run.__self__
        for run in executor.actions.values()
        if isinstance(getattr(run, "__self__", None), UsesBackends)
    ]
    assert len(users) >= 10  # the order, stock, handoff, fallback, satisfaction actions...
    assert all(action._backends is backends for action in users)
