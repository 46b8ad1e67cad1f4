"""Import Ray lazily, and join (``--ray-address``) or start a local Ray session."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

EXTRA_HINT = "pip install 'ltx-audioloop[cluster]' (or pip install ray)"
NAMESPACE = "ltx-audioloop"
"""Ray namespace of the pack's named actors (the ComfyUI servers started by ``serve``)."""


def import_ray():
    """The ``ray`` module; ValueError naming the extra to install when it is missing."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"rendering on several servers needs Ray, which is not installed: {EXTRA_HINT}") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None):
    """Join the Ray cluster at ``address`` ("auto" = the one this machine belongs to), or start a
    local Ray when ``address`` is None; a session already open in this process is reused."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    options = {"namespace": NAMESPACE, "log_to_driver": False, "configure_logging": False}
    if address:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ValueError(f"--ray-address {address}: cannot join the Ray cluster ({err}); start it with "
                             "'ray start --head' or leave --ray-address out to start Ray on this machine") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, **options)
    log.info("Ray session: %s", ray.get_runtime_context().gcs_address)
    return ray


def on_this_node(ray):
    """Scheduling strategy that keeps an actor on the driver's node (outputs and tracker are here)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
