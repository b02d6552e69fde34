"""The actor-critic trainer (train/actor_critic.py) on small games of Catch: it raises the mean
reward; it is deterministic given its seed; a resume after Ctrl-C, anywhere, logs and computes
what an uninterrupted run does; an overflow stops it naming the update."""

import json

import numpy as np
import pytest

from fastweights_np.finite import NonFiniteError
from fastweights_np.tasks.catch.agent import AgentConfig, CatchAgent
from fastweights_np.tasks.catch.env import CatchConfig, CatchEnv
from fastweights_np.tasks.rollout import sample_actions
from fastweights_np.train.actor_critic import ActorCriticConfig, discounted_returns, load_state, train

TIMINGS = ("elapsed_s", "frames_per_s")


def _agent(core="fw", screen=5):
    return CatchAgent(AgentConfig(screen=screen, core=core, hidden_size=16, input_size=16, dtype="float64"))


def _make_env(size=5, blank_after=None):
    return lambda episodes: CatchEnv(CatchConfig(size=size, blank_after=blank_after), num_episodes=episodes)


def _log(run):
    return [{k: v for k, v in json.loads(line).items() if k not in TIMINGS}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_discounted_returns():
    r = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, -1.0]])
    np.testing.assert_allclose(discounted_returns(r, 0.5), [[0.25, 0.5, 1.0], [0.75, -0.5, -1.0]])


def test_sample_actions_follows_the_policy():
    rng = np.random.default_rng(0)
    logits = np.log(np.tile([0.2, 0.5, 0.3], (20000, 1)))
    counts = np.bincount(sample_actions(logits, rng), minlength=3) / 20000
    np.testing.assert_allclose(counts, [0.2, 0.5, 0.3], atol=0.015)
    assert set(sample_actions(np.array([[0.0, -np.inf, -np.inf]] * 5), rng)) == {0}


@pytest.mark.parametrize("core", ["fw", "lstm"])
def test_a_short_run_raises_the_mean_reward(tmp_path, core):
    cfg = ActorCriticConfig(frames=300 * 32 * 5, episodes=32, lr=3e-3, optimizer="adam", log_every=50, eval_every=300,
                            eval_episodes=500, checkpoint_every=100, seed=1)
    result = train(_agent(core), _make_env(), cfg, tmp_path / "run", progress=False)
    records = _log(tmp_path / "run")
    assert records[0]["eval_reward"] < 0.2  # about 4/N − 1 = −0.2 at the start
    assert result.status == "finished" and result.eval_reward > 0.8, records
    assert result.frames == 300 * 32 * 5 and records[-1]["frames"] == result.frames


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
@pytest.mark.parametrize("stop_at", [1, 7, 12])  # before and after checkpoints (every 5), in a log (every 4)
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(tmp_path, optimizer, stop_at):
    cfg = ActorCriticConfig(frames=16 * 8 * 5, episodes=8, lr=3e-3, optimizer=optimizer, log_every=4, eval_every=8,
                            eval_episodes=50, checkpoint_every=5, seed=3)
    straight = train(_agent(), _make_env(blank_after=2), cfg, tmp_path / "straight", progress=False)

    class Interrupting(CatchAgent):
        calls = 0

        def loss_and_grad(self, *args, **kwargs):
            Interrupting.calls += 1
            if Interrupting.calls == stop_at:
                raise KeyboardInterrupt
            return super().loss_and_grad(*args, **kwargs)

    agent = Interrupting(AgentConfig(screen=5, core="fw", hidden_size=16, input_size=16, dtype="float64"))
    stopped = train(agent, _make_env(blank_after=2), cfg, tmp_path / "run", progress=False)
    assert stopped.status == "interrupted" and load_state(tmp_path / "run" / "checkpoint.npz").step == stop_at - 1
    resumed = train(_agent(), _make_env(blank_after=2), cfg, tmp_path / "run", resume=True, progress=False)
    assert _log(tmp_path / "run") == _log(tmp_path / "straight")
    for name, value in straight.params.items():
        np.testing.assert_array_equal(resumed.params[name], value, err_msg=name)
    assert resumed.eval_reward == straight.eval_reward


def test_an_overflow_stops_the_run_naming_the_update(tmp_path):
    class Overflowing(CatchAgent):
        def loss_and_grad(self, *args, **kwargs):
            loss, grads, terms = super().loss_and_grad(*args, **kwargs)
            grads["pi.W"] = grads["pi.W"] * np.inf
            return loss, grads, terms

    agent = Overflowing(AgentConfig(screen=5, core="irnn", hidden_size=8, input_size=8, dtype="float64"))
    cfg = ActorCriticConfig(frames=80, episodes=4, log_every=2, eval_every=2, eval_episodes=10, checkpoint_every=2)
    kept = r"checkpoint.npz keeps the last good state \(update 0\)"
    with pytest.raises(NonFiniteError, match=r"update 1.*'pi.W'.*" + kept):
        train(agent, _make_env(), cfg, tmp_path / "run", progress=False)


def test_bad_config_values_are_named():
    for field, value in (("frames", 0), ("optimizer", "sgd"), ("gamma", 1.5), ("lr", 0.0), ("clip_norm", -1.0)):
        with pytest.raises(ValueError, match=field):
            ActorCriticConfig(**{field: value})
