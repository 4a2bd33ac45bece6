"""Starting and stopping a daemon from a config text, for the few tests that need something the
port-block harness does not give (root-only port 443 on their own loopback address, IPv6)."""

import os
import signal
import subprocess
import time


class StandaloneDaemon:
    def __init__(self, binary: str, workdir: str, config_text: str):
        self.config = os.path.join(workdir, "turnpike.json")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.log = open(os.path.join(workdir, "daemon.log"), "w+")
        self.proc = subprocess.Popen([binary, "--config", self.config], stdout=self.log,
                                     stderr=self.log)

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self, timeout_s: float = 10) -> bool:
        deadline = time.time() + timeout_s
        while time.time() < deadline and self.proc.poll() is None:
            if "turnpiked ready" in self.log_text():
                return True
            time.sleep(0.05)
        print(self.log_text())
        return False

    def stop(self) -> int:
        """SIGTERM; returns the exit code (-9 when it had to be killed)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9

    def stop_and_check(self, failures: list) -> None:
        code = self.stop()
        if code != 0:
            failures.append(f"exit code {code} after SIGTERM")


def report(failures: list) -> int:
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "FAILED")
    return 0 if not failures else 1
