"""A real one-machine Slurm for the sbatch tests: munged, slurmctld and slurmd, as root.

The `slurm` fixture (one per test session) writes a slurm.conf into a fresh temporary
directory, starts a private munged (own key and socket) and the two Slurm daemons in the
foreground as children of pytest, on free ports, waits until the node is idle, and stops
everything at the end: it cancels the jobs still in the queue, waits for them to end, then
stops slurmd, slurmctld and munged. It never touches a Slurm or munge already running on
the machine (own ports, socket, state and spool directories).

The node declares 16 CPUs (SlurmdParameters=config_overrides lets slurmd accept more CPUs
than the machine has), so jobs of several ranks fit on a two-core machine, and two GPUs
whose "devices" are character device nodes made in the temporary directory: Slurm then
allocates them and sets CUDA_VISIBLE_DEVICES as on a GPU node, though no GPU exists.

Tests skip only where the Slurm or munge programs are missing (`apt-get install -y
slurm-wlm munge` installs them; .ci/run does) or the tests do not run as root; a daemon
that does not start is an error whose message includes the end of its log.
"""
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest

PROGRAMS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "srun", "scontrol", "squeue",
            "scancel", "sinfo")
# Job states after which a job will not run again (a requeued job goes back to PENDING).
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
NODE_CPUS = 16
NODE_GPUS = 2
START_TIMEOUT = 60
# Jobs are started again this many seconds after `scontrol requeue` (Slurm's default is
# 120: AuthInfo's cred_expire, which is also the lifetime of a job step's credential).
CRED_EXPIRE = 10


def _find(program):
    found = shutil.which(program)
    if found is None:
        for directory in ("/usr/sbin", "/usr/bin", "/sbin"):
            candidate = os.path.join(directory, program)
            if os.access(candidate, os.X_OK):
                return candidate
    return found


def _why_not_runnable():
    """The reason the Slurm tests cannot run here, or None."""
    missing = [name for name in PROGRAMS if _find(name) is None]
    if missing:
        return ("Slurm/munge programs not installed (%s missing): apt-get install -y "
                "slurm-wlm munge" % ", ".join(missing))
    if os.geteuid() != 0:
        return "the Slurm test fixture starts munged, slurmctld and slurmd, which needs root"
    try:
        pwd.getpwnam("munge")
    except KeyError:
        return "no 'munge' user (the munge package creates it): apt-get install -y munge"
    return None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, lines=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError as e:
        return "(no log: %s)" % e


def parse_record(line):
    """`scontrol show -o` output line -> {key: value} (values hold no spaces we need)."""
    record = {}
    for item in line.split():
        key, sep, value = item.partition("=")
        if sep:
            record[key] = value
    return record


class SlurmCluster:
    """A running one-node Slurm: its environment and helpers to submit and watch jobs."""

    def __init__(self, root):
        self.root = root
        self.hostname = socket.gethostname().split(".")[0]
        self.conf = os.path.join(root, "slurm.conf")
        self.logs = os.path.join(root, "log")
        self.gpus = 0
        self.no_gpu_reason = None
        self._daemons = []  # (name, Popen, log path), in start order

    # -- setup --------------------------------------------------------------------------

    def _make_fake_gpus(self):
        """Character device nodes for gres.conf; False (and the reason kept) if mknod fails."""
        directory = os.path.join(self.root, "dev")
        os.makedirs(directory)
        try:
            for index in range(NODE_GPUS):
                # Major 1, minor 3 is /dev/null's: harmless if anything ever opens it.
                os.mknod(os.path.join(directory, "nvidia%d" % index), 0o666 | stat.S_IFCHR,
                         os.makedev(1, 3))
        except OSError as e:
            self.no_gpu_reason = "cannot create device nodes for Slurm's GPU gres: %s" % e
            return None
        return os.path.join(directory, "nvidia[0-%d]" % (NODE_GPUS - 1))

    def _write_config(self, munge_socket):
        for name in ("state", "spool"):
            os.makedirs(os.path.join(self.root, name))
        gpu_files = self._make_fake_gpus()
        self.gpus = NODE_GPUS if gpu_files else 0
        gres = " Gres=gpu:%d" % NODE_GPUS if gpu_files else ""
        lines = [
            "ClusterName=hpcflowtest",
            "SlurmctldHost=%s" % self.hostname,
            "SlurmctldPort=%d" % _free_port(),
            "SlurmdPort=%d" % _free_port(),
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=%s,cred_expire=%d" % (munge_socket, CRED_EXPIRE),
            "SlurmUser=root",
            "SlurmdUser=root",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "MpiDefault=none",
            # Job IDs that differ from any earlier test session's: MPICH names its
            # shared-memory segments after the srun step (job.step), and a stale segment left
            # by a killed job of an earlier session with the same job ID broke MPI_Init.
            "FirstJobId=%d" % (1000 + int(time.time()) % 1000000 * 10),
            "MailProg=/bin/true",
            "ReturnToService=2",
            "KillWait=5",
            # Finished jobs stay visible to `scontrol show job` for 10 minutes.
            "MinJobAge=600",
            "SchedulerParameters=sched_interval=2,bf_interval=2",
            "SlurmdParameters=config_overrides",
            "StateSaveLocation=%s/state" % self.root,
            "SlurmdSpoolDir=%s/spool" % self.root,
            "SlurmctldPidFile=%s/slurmctld.pid" % self.root,
            "SlurmdPidFile=%s/slurmd.pid" % self.root,
            "SlurmctldLogFile=%s/slurmctld.log" % self.logs,
            "SlurmdLogFile=%s/slurmd.log" % self.logs,
        ]
        if gpu_files:
            lines.append("GresTypes=gpu")
            with open(os.path.join(self.root, "gres.conf"), "w") as f:
                f.write("NodeName=%s Name=gpu File=%s\n" % (self.hostname, gpu_files))
        lines += [
            "NodeName=%s CPUs=%d%s State=UNKNOWN" % (self.hostname, NODE_CPUS, gres),
            "PartitionName=debug Nodes=%s Default=YES MaxTime=INFINITE State=UP"
            % self.hostname,
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _start(self, name, command, **popen_options):
        log = os.path.join(self.logs, name + ".out")
        with open(log, "wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=self.env(),
                                       **popen_options)
        self._daemons.append((name, process, log))
        return process

    def _fail(self, what):
        details = "\n".join("--- %s (%s):\n%s" % (name, path, _tail(path))
                            for name, path in self._log_files())
        raise RuntimeError("Slurm test cluster: %s\n%s" % (what, details))

    def _log_files(self):
        files = [(name, log) for name, _, log in self._daemons]
        for name in ("slurmctld.log", "slurmd.log", "munged.log"):
            files.append((name, os.path.join(self.logs, name)))
        return files

    def _start_munge(self):
        munge = pwd.getpwnam("munge")
        directory = os.path.join(self.root, "munge")
        os.makedirs(directory)
        os.chmod(directory, 0o755)  # munged: the socket directory must be searchable by all
        key = os.path.join(directory, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(128))
        os.chmod(key, 0o400)
        for path in (directory, key):
            os.chown(path, munge.pw_uid, munge.pw_gid)
        open(os.path.join(self.logs, "munged.log"), "a").close()
        os.chown(os.path.join(self.logs, "munged.log"), munge.pw_uid, munge.pw_gid)
        munge_socket = os.path.join(directory, "socket")
        self._start("munged", [
            _find("munged"), "--foreground", "--socket=%s" % munge_socket,
            "--key-file=%s" % key, "--pid-file=%s/munged.pid" % directory,
            "--seed-file=%s/munged.seed" % directory,
            "--log-file=%s/munged.log" % self.logs],
            user=munge.pw_uid, group=munge.pw_gid, extra_groups=[])
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(munge_socket):
            if self._daemons[-1][1].poll() is not None or time.monotonic() > deadline:
                self._fail("munged did not start")
            time.sleep(0.1)
        check = subprocess.run("%s -n --socket=%s | %s --socket=%s" % (
            _find("munge"), munge_socket, _find("unmunge") or "unmunge", munge_socket),
            shell=True, capture_output=True, text=True)
        if check.returncode != 0:
            self._fail("munge -n | unmunge failed: %s" % check.stderr.strip())
        return munge_socket

    def start(self):
        os.chmod(self.root, 0o755)  # munged (user munge) must reach its directory
        os.makedirs(self.logs)
        munge_socket = self._start_munge()
        self._write_config(munge_socket)
        # -D: stay in the foreground (a child of pytest, stopped by pid); -c: no old state.
        self._start("slurmctld", [_find("slurmctld"), "-D", "-c", "-i", "-f", self.conf])
        self._wait_until(lambda: self.run(["scontrol", "ping"], check=False).returncode == 0,
                         "slurmctld does not answer `scontrol ping`")
        self._start("slurmd", [_find("slurmd"), "-D", "-f", self.conf])
        self._wait_until(lambda: self.node_state() == "idle", "the node is not idle")

    def _wait_until(self, condition, what):
        deadline = time.monotonic() + START_TIMEOUT
        while not condition():
            for name, process, _ in self._daemons:
                if process.poll() is not None:
                    self._fail("%s exited with code %s" % (name, process.returncode))
            if time.monotonic() > deadline:
                self._fail("%s after %d s" % (what, START_TIMEOUT))
            time.sleep(0.25)

    def node_state(self):
        result = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False)
        return result.stdout.strip().rstrip("*~#")

    def stop(self):
        """Cancels the remaining jobs, then stops the daemons (newest first)."""
        if any(name == "slurmctld" and p.poll() is None for name, p, _ in self._daemons):
            self.run(["scancel", "--user=root"], check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                queue = self.run(["squeue", "-h", "-o", "%i"], check=False)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.5)
        for name, process, _ in reversed(self._daemons):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=20)

    # -- use ----------------------------------------------------------------------------

    def env(self, **extra):
        """The environment for Slurm commands and jobs: this cluster, this Python first."""
        environment = dict(os.environ)
        environment.pop("HPCFLOW_CHECK_KERNELS", None)  # tests/conftest.py's: slows jobs
        environment.pop("HPCFLOW_REQUEUE_ON_SIGNAL", None)
        for name in list(environment):
            if name.startswith("SLURM_") or name.startswith("SBATCH_"):
                del environment[name]
        environment.update(
            SLURM_CONF=self.conf, PYTHONUNBUFFERED="1", HPCFLOW_PYTHON=sys.executable,
            PATH=os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", ""))
        environment.update(extra)
        return environment

    def run(self, command, check=True, cwd=None, env=None, timeout=60):
        """Runs a Slurm client command against this cluster; returns the CompletedProcess."""
        result = subprocess.run(command, capture_output=True, text=True, cwd=cwd,
                                env=env or self.env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("%s failed (exit %d): %s%s" % (
                " ".join(command), result.returncode, result.stdout, result.stderr))
        return result

    def submit(self, template, args=(), options=(), cwd=None, env=None):
        """`sbatch [options] template args`; returns the job ID (an int)."""
        result = self.run(["sbatch", "--parsable", *options, template, *args], cwd=cwd,
                          env=env)
        return int(result.stdout.strip().split(";")[0])

    def records(self, job_id):
        """The `scontrol show job -o` records of a job (one per array task), as dicts."""
        result = self.run(["scontrol", "show", "job", "-o", str(job_id)], check=False)
        if result.returncode != 0:
            return []
        return [parse_record(line) for line in result.stdout.splitlines() if line.strip()]

    def wait(self, job_id, timeout, output=None):
        """Polls until every record of the job is in a final state; returns the records.

        Raises:
          AssertionError: on timeout (after cancelling the job), with the job's records and
            the end of `output` (its output file).
        """
        deadline = time.monotonic() + timeout
        while True:
            records = self.records(job_id)
            if records and all(r.get("JobState") in FINAL_STATES for r in records):
                return records
            if time.monotonic() > deadline:
                self.run(["scancel", "--full", str(job_id)], check=False)
                raise AssertionError("job %s not finished after %d s: %s\n--- output:\n%s" % (
                    job_id, timeout, [(r.get("JobState"), r.get("Reason")) for r in records],
                    _tail(output, 60) if output else "(no output file given)"))
            time.sleep(0.5)

    @staticmethod
    def wait_for_text(path, text, timeout, job_records=None):
        """Polls until file `path` contains `text`; returns the file's contents."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(path, errors="replace") as f:
                    contents = f.read()
            except FileNotFoundError:
                contents = ""
            if text in contents:
                return contents
            if time.monotonic() > deadline:
                raise AssertionError("%r not in %s after %d s (job: %s):\n%s" % (
                    text, path, timeout, job_records() if job_records else "?", contents[-3000:]))
            time.sleep(0.2)


@pytest.fixture(scope="session")
def slurm():
    """A running one-node Slurm cluster (see the module docstring); stopped at the end."""
    reason = _why_not_runnable()
    if reason:
        pytest.skip(reason)
    root = tempfile.mkdtemp(prefix="hpcflow-slurm-")
    cluster = SlurmCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
