"""Regenerate the README's pictures in scripts/figures/ from real runs.

    python scripts/make_figures.py

Needs Chromium (apt-get install chromium), GraphViz (apt-get install graphviz) and
TensorBoard (pip install tensorboard); runs the examples under the mpiexec beside this
Python. It trains the CNN on 4 ranks, serves its logdir with TensorBoard on 127.0.0.1 only
and screenshots it headless; traces one step of the CNN (4 ranks, data parallel) and of
the two-stage model (3 ranks, placed) and draws the traces; and renders the graph views of
both. Writes tensorboard_scalars.png, tensorboard_images.png, timeline_cnn.png,
timeline_two_stage.png, graph_two_stage.png and graph_cnn_data_parallel.png.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")
PYTHON = sys.executable
MPIEXEC = os.path.join(os.path.dirname(PYTHON), "mpiexec")


def run(*command, cwd):
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, check=True)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    sys.exit("make_figures: Chromium is needed (apt-get install chromium)")


def screenshot(url, path, width, height, wait_ms=8000):
    run(chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--window-size=%d,%d" % (width, height), "--virtual-time-budget=%d" % wait_ms,
        "--screenshot=%s" % path, url, cwd=FIGURES)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tensorboard_screenshots(logdir):
    port = free_port()
    server = subprocess.Popen([PYTHON, "-m", "tensorboard.main", "--logdir", logdir,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/data/runs" % port, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(3)  # let TensorBoard load the event files
        base = "http://127.0.0.1:%d/" % port
        screenshot(base + "#scalars", os.path.join(FIGURES, "tensorboard_scalars.png"), 1400, 820)
        screenshot(base + "#images", os.path.join(FIGURES, "tensorboard_images.png"), 1400, 820)
    finally:
        server.terminate()
        server.wait(timeout=30)


def svg_to_png(svg, png, width, height):
    screenshot("file://" + os.path.abspath(svg), png, width, height, wait_ms=1000)


def main():
    os.makedirs(FIGURES, exist_ok=True)
    work = tempfile.mkdtemp(prefix="hpcflow-figures-")
    scripts = lambda name: os.path.join(HERE, name)  # noqa: E731
    run(PYTHON, scripts("prepare_digits.py"), cwd=work)
    run(MPIEXEC, "-n", "4", PYTHON, "-m", "hpcflow", scripts("cnn_digits.py"),
        "--logdir", "runs/cnn_digits", cwd=work)
    tensorboard_screenshots(os.path.join(work, "runs", "cnn_digits"))
    run(MPIEXEC, "-n", "4", PYTHON, "-m", "hpcflow", scripts("timeline_example.py"), cwd=work)
    run(MPIEXEC, "-n", "3", PYTHON, "-m", "hpcflow", scripts("timeline_example.py"),
        "--model", "two_stage", cwd=work)
    for model, height in (("cnn", 560), ("two_stage", 440)):
        svg_to_png(os.path.join(work, "runs", "timeline_%s.svg" % model),
                   os.path.join(FIGURES, "timeline_%s.png" % model), 1400, height)
    run(PYTHON, "-m", "hpcflow.graph_view", "--ranks", "3", "--depth", "2", "-o",
        os.path.join(FIGURES, "graph_two_stage.png"), scripts("model_parallel.py"), cwd=work)
    run(PYTHON, "-m", "hpcflow.graph_view", "--ranks", "4", "--depth", "1", "-o",
        os.path.join(FIGURES, "graph_cnn_data_parallel.png"), "--fetch", "Adam",
        scripts("cnn_digits.py"), cwd=work)
    shutil.rmtree(work, ignore_errors=True)
    print("figures in %s" % FIGURES)


if __name__ == "__main__":
    main()
