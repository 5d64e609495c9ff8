"""A job's terminal lines are its progress and its problems; its rule log holds everything."""

import subprocess
import sys
import textwrap

from tests.support import REPO

JOB = textwrap.dedent(
    """
    import os, sys
    from sonata import SonataError
    from sonata.logs import PROGRESS, setup_logging

    log = setup_logging(sys.argv[1])
    log.info("notes per split: a table only the log needs")
    log.info("epoch 1/12 - val_loss: 3.6", extra=PROGRESS)
    log.warning("something the user can fix")
    os.write(2, b"native start-up chatter\\n")  # as TensorFlow's C++ code writes it
    if sys.argv[2] == "fail":
        raise SonataError("recording 9017 has no label CSV")
    """
)


def run_job(tmp_path, outcome: str):
    log_path = tmp_path / "logs" / "train_model" / "piano_wavenet.log"
    log_path.parent.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-c", JOB, str(log_path), outcome], cwd=REPO, capture_output=True, text=True
    )
    return done, log_path.read_text()


def test_terminal_shows_progress_and_warnings_named_by_job_while_the_log_has_everything(tmp_path):
    done, log = run_job(tmp_path, "succeed")
    assert done.returncode == 0, done.stderr
    terminal = done.stderr.splitlines()
    assert len(terminal) == 2, terminal
    assert "[train_model/piano_wavenet] INFO: epoch 1/12 - val_loss: 3.6" in terminal[0]
    assert "[train_model/piano_wavenet] WARNING: something the user can fix" in terminal[1]
    for line in ("a table only the log needs", "epoch 1/12", "something the user", "native start-up chatter"):
        assert log.count(line) == 1, log


def test_a_failed_job_says_why_on_the_terminal_and_in_its_log(tmp_path):
    done, log = run_job(tmp_path, "fail")
    assert done.returncode != 0
    assert "ERROR: SonataError: recording 9017 has no label CSV" in done.stderr
    assert "SonataError: recording 9017 has no label CSV" in log
    assert "a table only the log needs" not in done.stderr
    assert "native start-up chatter" not in done.stderr


def test_a_script_run_by_hand_prints_every_line_to_stderr(tmp_path):
    code = "from sonata.logs import setup_logging; setup_logging().info('notes per split: 3')"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "INFO sonata: notes per split: 3" in done.stderr
