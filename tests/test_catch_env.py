"""The partially observable Catch environment (fastweights_np/tasks/catch, docs/catch.md)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from fastweights_np.tasks.catch.env import LEFT, RIGHT, STAY, CatchConfig, CatchEnv, CatchState
from fastweights_np.tasks.catch.render import render_image, render_text, save_png, screen_codes


def make(size: int, blank_after: int | None = None, paddle_start: str = "centre", episodes: int = 1,
         dtype: str = "float32") -> CatchEnv:
    return CatchEnv(CatchConfig(size, blank_after, paddle_start), num_episodes=episodes, dtype=dtype)


def play(env: CatchEnv, policy, seed) -> tuple[np.ndarray, np.ndarray]:
    """Run one batch of episodes: ``policy(frame, k)`` gives the actions after frame k.

    Returns (frames (E, N, N, N), rewards (E, N - 1)), checking done after the last step only.
    """
    frames, rewards = [env.reset(seed)], []
    for k in range(1, env.config.size):
        assert not env.done
        frame, reward, done = env.step(policy(frames[-1], k))
        assert done == (k == env.config.num_steps)
        frames.append(frame)
        rewards.append(reward)
    return np.stack(frames, axis=1), np.stack(rewards, axis=1)


def constant(action: int):
    return lambda frame, k: np.full(len(frame), action)


def toward(ball_col: np.ndarray, paddle_x: np.ndarray) -> np.ndarray:
    """The action that moves a paddle at x one column towards covering ``ball_col`` (x ∈ {c − 1, c})."""
    return np.where(paddle_x < ball_col - 1, RIGHT, np.where(paddle_x > ball_col, LEFT, STAY))


def remembering_policy(size: int):
    """Reads the ball's column and the paddle in frame 1, then steers by dead reckoning: it never
    needs to see another frame."""
    memory = {}

    def policy(frame: np.ndarray, k: int) -> np.ndarray:
        if k == 1:
            memory["c"], memory["x"] = frame[:, 0].argmax(1), frame[:, -1].argmax(1)
        a = toward(memory["c"], memory["x"])
        memory["x"] = np.clip(memory["x"] + a - STAY, 0, size - 2)
        return a

    return policy


def reactive_policy(frame: np.ndarray, k: int) -> np.ndarray:
    """Moves towards the ball it sees; stays on a blank frame (no memory)."""
    shown = frame.any(axis=(1, 2))
    ball_col, paddle_x = frame[:, :-1].max(1).argmax(1), frame[:, -1].argmax(1)
    return np.where(shown, toward(ball_col, paddle_x), STAY)


def moves_needed(ball_col: np.ndarray, paddle_x: np.ndarray, size: int) -> np.ndarray:
    """Fewest moves from x to an x' ∈ {c − 1, c} ∩ [0, N − 2]."""
    targets = np.stack([ball_col - 1, ball_col], axis=1)
    ok = (targets >= 0) & (targets <= size - 2)
    return np.where(ok, np.abs(targets - paddle_x[:, None]), size * 10).min(axis=1)


# --------------------------------------------------------------------------------- the rules
def test_the_ball_falls_one_row_a_frame_in_its_column():
    env = make(7, episodes=64)
    frames, _ = play(env, constant(STAY), seed=3)
    columns = frames[:, 0, 0].argmax(1)
    assert frames[:, 0, 0].sum(1).tolist() == [1] * 64
    for t in range(1, 8):  # frame t: the ball in row t - 1, nothing else above the bottom row
        above = frames[:, t - 1, :-1]
        if t < 7:
            assert (above.sum((1, 2)) == 1).all()
            assert (above[np.arange(64), t - 1, columns] == 1).all()
        else:
            assert (above == 0).all()
    bottom = frames[:, -1, -1]  # frame N: ball in row N - 1, over the paddle where they meet
    assert (bottom[np.arange(64), columns] == 1).all()
    assert env.state.ball_row == 6 and env.state.frame == 7


def test_the_paddle_starts_centred_and_clamps_at_both_edges():
    env = make(5, episodes=3)
    first = env.reset(0)
    assert (first[:, -1] == [0, 1, 1, 0, 0]).all()  # x = N // 2 - 1 = 1: columns 1 and 2
    path = []
    for _ in range(3):
        frame, _, _ = env.step(np.array([LEFT, STAY, RIGHT]))
        path.append(env.state.paddle_x.tolist())
        assert [row.nonzero()[0].tolist() for row in frame[:, -1]] == [[x, x + 1] for x in path[-1]]
    assert path == [[0, 1, 2], [0, 1, 3], [0, 1, 3]]
    env.step(np.array([RIGHT, RIGHT, LEFT]))
    assert env.state.paddle_x.tolist() == [1, 2, 2]


def test_odd_and_even_sizes_centre_the_paddle():
    for size, x in [(3, 0), (4, 1), (9, 3), (24, 11)]:
        assert make(size).config.centre == x
        assert make(size).reset(0)[0, -1].nonzero()[0].tolist() == [x, x + 1]


def test_the_reward_comes_at_the_end_and_is_plus_one_exactly_for_a_catch():
    env = make(6, episodes=400)
    frames, rewards = play(env, constant(STAY), seed=5)
    columns = frames[:, 0, 0].argmax(1)
    assert (rewards[:, :-1] == 0).all()
    expected = np.where((columns == 2) | (columns == 3), 1.0, -1.0)  # the paddle stays at x = 6 // 2 - 1 = 2
    assert (rewards[:, -1] == expected).all() and set(columns.tolist()) == set(range(6))
    assert rewards.dtype == np.float32 and frames.dtype == np.float32


@pytest.mark.parametrize("size", [3, 6])
def test_frames_after_m_are_blank_and_earlier_ones_are_those_of_the_full_game(size):
    full, _ = play(make(size, size, episodes=20), constant(RIGHT), seed=9)
    for m in range(1, size + 1):
        frames, _ = play(make(size, m, episodes=20), constant(RIGHT), seed=9)
        assert (frames[:, m:] == 0).all()  # frames M + 1..N, paddle included
        assert (frames[:, :m] == full[:, :m]).all()
        assert (frames[:, :m, -1].sum(-1) >= 2).all()  # a shown frame always has the paddle


def test_the_same_seed_gives_the_same_episodes():
    def run(seed):
        return play(make(8, 4, "random", episodes=50), remembering_policy(8), seed)

    a, b, c = run(11), run(11), run(12)
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert not (a[0] == c[0]).all()
    g1, g2 = run(np.random.default_rng(11)), run(np.random.default_rng(11))
    assert (g1[0] == g2[0]).all() and (g1[0] == a[0]).all()  # an int seed is default_rng(seed)


def test_reset_without_a_seed_continues_the_generator_and_a_generator_is_advanced():
    env = make(10, episodes=200)
    first, second = env.reset(4), env.reset()
    assert not (first == second).all()
    rng = np.random.default_rng(4)
    assert (env.reset(rng) == first).all() and (env.reset(rng) == second).all()


def test_float64_frames():
    frames, rewards = play(make(4, episodes=2, dtype="float64"), constant(STAY), seed=0)
    assert frames.dtype == rewards.dtype == np.float64


# ------------------------------------------------------------------------- policies' scores
@pytest.mark.parametrize("size", [5, 16])
def test_a_random_policy_scores_four_over_n_minus_one(size):
    """Any policy blind to the ball catches with probability 2/N exactly (every x covers two of
    the N equally likely columns), so its mean reward is 4/N − 1."""
    episodes, rng = 4000, np.random.default_rng(0)
    _, rewards = play(make(size, episodes=episodes), lambda frame, k: rng.integers(0, 3, len(frame)), seed=1)
    mean, expected = rewards[:, -1].mean(), 4 / size - 1
    standard_error = np.sqrt((1 - expected**2) / episodes)
    assert abs(mean - expected) < 4 * standard_error  # a 3-pixel catch would be 2/N off: > 8 SE here


@pytest.mark.parametrize("paddle_start", ["centre", "random"])
@pytest.mark.parametrize("size", [3, 4, 7, 8])
def test_a_policy_that_remembers_frame_one_catches_every_ball_whatever_m(size, paddle_start):
    """Every column is at most N − N//2 − 1 moves from the centred start and N − 2 from any start,
    fewer than the N − 1 steps, and frame 1 always shows the ball: +1 for every M."""
    for m in range(1, size + 1):
        _, rewards = play(make(size, m, paddle_start, episodes=300), remembering_policy(size), seed=m)
        assert (rewards[:, -1] == 1).all()


@pytest.mark.parametrize("paddle_start", ["centre", "random"])
@pytest.mark.parametrize("size", [5, 8])
def test_a_policy_without_memory_catches_exactly_the_balls_it_can_reach_while_it_sees_them(size, paddle_start):
    """It acts on frames 1..N−1 and sees min(M, N − 1) of them, so it catches column c from start
    x exactly when x ∈ {c − 1, c} ∩ [0, N − 2] is at most min(M, N − 1) moves away."""
    for m in range(1, size + 1):
        env = make(size, m, paddle_start, episodes=400)
        env.reset(m)  # the starts of the episodes that play() below replays from the same seed
        start = env.state.paddle_x
        frames, rewards = play(env, reactive_policy, seed=m)
        columns = frames[:, 0, 0].argmax(1)
        reachable = moves_needed(columns, start, size) <= min(m, size - 1)
        assert (rewards[:, -1] == np.where(reachable, 1, -1)).all()
        assert reachable.any()
        if paddle_start == "centre":  # every column within reach exactly when M >= N - N // 2 - 1
            assert reachable.all() == (m >= size - size // 2 - 1)


def test_the_boundary_of_the_policy_without_memory_from_the_centre():
    """N = 8, x0 = 3: columns 2..5 are within one move, 1..6 within two, all within three."""
    caught = {}
    for m in (1, 2, 3):
        env = make(8, m, episodes=500)
        frames, rewards = play(env, reactive_policy, seed=0)
        columns = frames[:, 0, 0].argmax(1)
        caught[m] = sorted(set(columns[rewards[:, -1] == 1].tolist()))
        assert set(columns.tolist()) == set(range(8))
    assert caught == {1: [2, 3, 4, 5], 2: [1, 2, 3, 4, 5, 6], 3: list(range(8))}


def test_a_random_paddle_start_is_uniform_over_its_positions_and_drawn():
    env = make(6, paddle_start="random", episodes=5000)
    first = env.reset(2)
    x = env.state.paddle_x
    counts = np.bincount(x, minlength=6)
    assert counts[5] == 0 and (np.abs(counts[:5] / 5000 - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 5000)).all()
    assert (first[np.arange(5000), -1, x] == 1).all() and (first[np.arange(5000), -1, x + 1] == 1).all()
    assert (first[:, -1].sum(1) == 2).all()


def test_ball_columns_are_uniform():
    env = make(5, episodes=10000)
    counts = np.bincount(env.reset(7)[:, 0].argmax(1), minlength=5)
    assert (np.abs(counts / 10000 - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 10000)).all()


# ------------------------------------------------------------------------------- rendering
def test_render_text_of_frames_a_state_and_blank_frames():
    env = make(4, 2, episodes=2)
    frames, _ = play(env, constant(LEFT), seed=0)
    column = int(frames[1, 0, 0].argmax())
    text = render_text(frames, episode=1).splitlines()
    assert len(text) == 4 and text[0].split(" | ")[0] == "".join("o" if j == column else "." for j in range(4))
    assert text[-1].split(" | ")[:2] == [".==.", "==.."] and text[-1].split(" | ")[2:] == ["    "] * 2
    assert render_text(frames[:, 0]) == render_text(frames[0, 0]) == render_text(frames[:1, :1])
    state = render_text(env.state, episode=1).splitlines()  # the truth, though the frame is blank
    assert state[:3] == ["...."] * 3
    bottom = "".join("o" if j == column else "=" if j < 2 else "." for j in range(4))
    assert state[3] == bottom


def test_render_text_from_frames_reads_a_bottom_row_ball_as_paddle():
    env = make(3, episodes=1)
    frames, _ = play(env, constant(STAY), seed=0)
    assert set(render_text(frames[:, -1]).splitlines()[-1]) <= {"=", "."}
    codes = screen_codes(env.state)
    assert codes.shape == (1, 3, 3) and (codes[0, -1] == 1).sum() == 1


def test_render_image_is_an_upscaled_strip():
    env = make(5, 3, episodes=2)
    frames, _ = play(env, constant(RIGHT), seed=1)
    image = render_image(frames, episode=0, scale=3, gap=2)
    assert image.dtype == np.uint8 and image.shape == (15, 5 * 15 + 4 * 2, 3)
    lit = image[::3, :15:3].max(-1) == 255  # frame 1, one sample per pixel
    assert (lit == (frames[0, 0] == 1)).all()
    assert (image[:, 15:17] == 128).all()  # the gap
    assert (image[:, -15:] == 48).all()  # a blank frame: dark grey
    bottom = render_image(env.state, scale=1)[-1]  # the true screen: the ball over the paddle at x = 3
    ball = env.state.ball_col[0]
    expected = [[255] * 3 if j == ball else [64, 160, 255] if j >= 3 else [0] * 3 for j in range(5)]
    assert bottom.tolist() == expected


def test_save_png(tmp_path):
    mpimg = pytest.importorskip("matplotlib.image", reason="matplotlib is an optional extra")
    image = render_image(np.eye(4, dtype=np.float32)[None], scale=2)
    path = save_png(tmp_path / "catch.png", image)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (np.round(mpimg.imread(path)[..., :3] * 255) == image).all()


# ------------------------------------------------------------------------------- Gymnasium
def test_nothing_in_the_package_imports_gymnasium():
    code = ("import sys, fastweights_np, fastweights_np.tasks.catch.env, fastweights_np.tasks.catch.render; "
            "assert 'gymnasium' not in sys.modules, 'gymnasium imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_gymnasium_environment_passes_the_checker():
    gymnasium = pytest.importorskip("gymnasium", reason="gymnasium is an optional extra: pip install '.[gym]'")
    from gymnasium.utils.env_checker import check_env

    from fastweights_np.tasks.catch import gym_env

    gym_env.register()
    gym_env.register()  # again: no "overriding" warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_env.register()
        env = gymnasium.make(gym_env.ENV_ID, size=5, blank_after=2, paddle_start="random")
        check_env(env.unwrapped)  # through make, so with a spec: every render mode is checked too
    assert env.observation_space == gymnasium.spaces.Box(0, 1, (5, 5), np.float32)
    assert env.action_space == gymnasium.spaces.Discrete(3)
    obs, info = env.reset(seed=3)
    steps, rewards = 0, []
    terminated = False
    while not terminated:
        obs, reward, terminated, truncated, info = env.step(1)
        steps, rewards = steps + 1, rewards + [reward]
        assert not truncated and obs.shape == (5, 5) and obs.dtype == np.float32
    assert steps == 4 and rewards[:-1] == [0.0] * 3 and rewards[-1] in (-1.0, 1.0)
    assert (obs == 0).all()  # frame 5 > M = 2
    text_env = gymnasium.make(gym_env.ENV_ID, render_mode="ansi", size=4)
    text_env.reset(seed=0)
    assert text_env.render().splitlines()[-1] == ".==."


def test_the_gymnasium_environment_repeats_an_episode_from_its_seed_and_checks_actions():
    gymnasium = pytest.importorskip("gymnasium", reason="gymnasium is an optional extra: pip install '.[gym]'")
    from fastweights_np.tasks.catch.gym_env import CatchGymEnv

    env = CatchGymEnv(size=6, render_mode="ansi")
    assert isinstance(env, gymnasium.Env)
    columns = {int(env.reset(seed=s)[0][0].argmax()) for s in range(40)}
    assert columns == set(range(6))
    assert (env.reset(seed=5)[0] == env.reset(seed=5)[0]).all()
    assert env.render().splitlines()[-1] == "..==.."
    with pytest.raises(ValueError, match="single integer"):
        env.step(np.array([1, 1]))
    with pytest.raises(ValueError, match=r"found 3"):
        env.step(3)
    with pytest.raises(ValueError, match="render_mode"):
        CatchGymEnv(render_mode="human")
    with pytest.raises(ValueError, match=r"blank_after \(M\)"):
        CatchGymEnv(size=4, blank_after=5)


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": 2}, r"size \(N\) must be an integer >= 3, got 2"),
        ({"size": 5.0}, r"size \(N\) must be an integer >= 3, got 5.0"),
        ({"size": True}, r"size \(N\) must be an integer >= 3, got True"),
        ({"size": 5, "blank_after": 6}, r"blank_after \(M\) must be an integer with 1 <= M <= N = 5, got 6"),
        ({"size": 5, "blank_after": 0}, r"blank_after \(M\) must be an integer with 1 <= M <= N = 5, got 0"),
        ({"size": 5, "paddle_start": "left"}, r"paddle_start must be one of \('centre', 'random'\), got 'left'"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        CatchConfig(**options)


def test_config_defaults_and_plain_ints():
    cfg = CatchConfig(size=np.int64(6))
    assert cfg == CatchConfig(6, 6, "centre") and type(cfg.size) is int and cfg.num_steps == 5
    assert CatchConfig().size == 24 and CatchConfig().blank_after == 24


@pytest.mark.parametrize(
    ("actions", "error", "message"),
    [
        (np.array([1, 1, 1]), ValueError, r"actions must have shape \(E,\) = \(2,\), one per episode, got \(3,\)"),
        (np.array([[1, 1]]), ValueError, r"shape \(E,\) = \(2,\).*got \(1, 2\)"),
        (np.array([1.0, 1.0]), TypeError, "actions must have an integer dtype .* got float64"),
        (np.array([True, False]), TypeError, "integer dtype .* got bool"),
        (np.array([1, 3]), ValueError, r"actions must be 0 \(left\), 1 \(stay\) or 2 \(right\), found 3 for episode 1"),
        (np.array([-1, 0]), ValueError, "found -1 for episode 0"),
    ],
)
def test_bad_actions_are_named(actions, error, message):
    env = make(4, episodes=2)
    env.reset(0)
    with pytest.raises(error, match=message):
        env.step(actions)
    assert env.state.frame == 1  # nothing moved


def test_step_before_reset_and_after_done():
    env = make(3)
    with pytest.raises(RuntimeError, match=r"step\(\) before reset\(\)"):
        env.step(np.array([1]))
    with pytest.raises(RuntimeError, match=r"state before reset\(\)"):
        env.state
    env.reset(0)
    env.step(np.array([1]))
    env.step(np.array([1]))
    with pytest.raises(RuntimeError, match=r"step\(\) after the episodes ended: an episode has N - 1 = 2 steps"):
        env.step(np.array([1]))
    env.reset()
    assert env.state.frame == 1 and not env.done


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_episodes": 0}, ValueError, "num_episodes must be a positive integer, got 0"),
        ({"dtype": "int8"}, ValueError, r"dtype must be one of \('float32', 'float64'\), got 'int8'"),
        ({"config": {"size": 5}}, TypeError, "config must be a CatchConfig, got dict"),
    ],
)
def test_bad_environment_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        CatchEnv(**kwargs)


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_bad_seeds(seed, error):
    with pytest.raises(error, match="seed must be"):
        make(4).reset(seed)


@pytest.mark.parametrize(
    ("x", "episode", "error", "message"),
    [
        (np.zeros((4, 5)), 0, ValueError, r"frames must have shape \(N, N\), \(E, N, N\) or \(E, T, N, N\)"),
        (np.zeros((2, 2)), 0, ValueError, "with N >= 3, got"),
        (np.full((3, 3), 0.5), 0, ValueError, r"only 0 and 1, found 0.5 at index \(0, 0\)"),
        (np.zeros((3, 3), complex), 0, TypeError, "real or boolean"),
        (np.zeros((2, 3, 3)), 2, ValueError, r"episode must be an integer in \[0, E\) = \[0, 2\), got 2"),
        ([[0, 0, 0]] * 3, 0, TypeError, "numpy.ndarray of frames or a CatchState, got list"),
    ],
)
def test_bad_render_inputs(x, episode, error, message):
    with pytest.raises(error, match=message):
        render_text(x, episode)


def test_bad_image_arguments(tmp_path):
    frame = make(3).reset(0)
    with pytest.raises(ValueError, match="scale must be a positive integer, got 0"):
        render_image(frame, scale=0)
    with pytest.raises(ValueError, match="gap must be an integer >= 0, got -1"):
        render_image(frame, gap=-1)
    with pytest.raises(ValueError, match=r"image must be a uint8 array of shape \(H, W\) or \(H, W, 3\), got float32"):
        save_png(tmp_path / "x.png", frame)


def test_a_state_is_a_read_only_copy():
    env = make(5, episodes=3)
    env.reset(0)
    state = env.state
    assert isinstance(state, CatchState) and state.num_episodes == 3
    with pytest.raises(ValueError, match="read-only"):
        state.paddle_x[0] = 0
    env.step(np.array([RIGHT] * 3))
    assert state.paddle_x.tolist() == [1, 1, 1] and env.state.paddle_x.tolist() == [2, 2, 2]
