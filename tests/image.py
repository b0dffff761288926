#!/usr/bin/env python3
"""Rehearses docker/Dockerfile's runtime stage without a Docker engine (run by tests/image.sh).

These machines have no engine, so the image itself is never built. What can be rehearsed is
the stage that runs: its instructions are followed one by one on a Debian root file system
made by debootstrap's minbase variant (the variant Debian's slim images are cut from), RUN in
a chroot, and `COPY --from=build` replaced by the `commerce` binary cargo built here (the same
crates and features as the release build, so the same shared libraries). The container is then
started as an engine starts it: the image's USER, ENV, WORKDIR, ENTRYPOINT and CMD, in a
network namespace with only loopback and a mount namespace of its own. Checked:

- the server runs as the image's unprivileged user and turns healthy by the HEALTHCHECK
  command within the start period the Dockerfile grants;
- it answers on the EXPOSEd port, with no demo catalog unless asked;
- a one-off command run as the Dockerfile documents (`docker run --rm commerce api-keys
  create ...`) works against the same data directory;
- everything it keeps is in the VOLUME directory and belongs to that user;
- `docker stop` (SIGTERM, then SIGKILL after 10 seconds) ends it cleanly in time, and the
  health check then fails;
- started again on the same volume, it is healthy again and still knows the key.

An instruction the rehearsal does not know stops it with an error, so it cannot drift from
the Dockerfile unnoticed.

    python3 tests/image.py DOCKERFILE BINARY WORKDIR    # as root
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What `docker stop` waits for before it kills.
STOP_GRACE_SECONDS = 10
# Debian's images set this PATH in their configuration; an engine passes it on.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def fail(message):
    print(f"tests/image.sh: {message}", file=sys.stderr)
    sys.exit(1)


def say(message):
    print(f"tests/image.sh: {message}", flush=True)


# --- The Dockerfile ---------------------------------------------------------------------------


def instructions(text):
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined and
    comments (parser directives included) dropped, as the engine reads them."""
    result, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not current and not line):
            continue
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        result.append((keyword.upper(), rest.strip()))
        current = ""
    if current:
        fail("the Dockerfile ends in a continued line")
    return result


def stages(parsed):
    """Splits the instructions at each FROM: a list of (image, name, instructions)."""
    found = []
    for keyword, rest in parsed:
        if keyword == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append((words[0], name, []))
        elif not found:
            if keyword != "ARG":
                fail(f"{keyword} before the first FROM")
        else:
            found[-1][2].append((keyword, rest))
    if not found:
        fail("the Dockerfile has no FROM")
    return found


def command_form(rest):
    """An exec form (a JSON array) as it is, a shell form as the engine runs it."""
    if rest.startswith("["):
        try:
            argv = json.loads(rest)
        except json.JSONDecodeError as error:
            fail(f"{rest!r} is not a JSON array: {error}")
        if not all(isinstance(arg, str) for arg in argv):
            fail(f"{rest!r} is not an array of strings")
        return argv
    return ["/bin/sh", "-c", rest]


def seconds(value):
    # "ms" before "s", so that "500ms" is not read as 500 "m" and an "s".
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit, factor in units.items():
        if value.endswith(unit) and value[: -len(unit)].replace(".", "", 1).isdigit():
            return float(value[: -len(unit)]) * factor
    fail(f"{value!r} is not a duration")


def healthcheck(rest):
    words = rest.split(" ")
    options = {"interval": 30.0, "timeout": 30.0, "start-period": 0.0, "retries": 3}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        if key not in options:
            fail(f"HEALTHCHECK option --{key} is not one the rehearsal knows")
        options[key] = int(value) if key == "retries" else seconds(value)
    if not words or words[0].upper() != "CMD":
        fail(f"HEALTHCHECK {rest!r} has no CMD")
    options["command"] = command_form(" ".join(words[1:]).strip())
    return options


def environment(rest):
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        # The legacy `ENV key value` form: one variable, the rest of the line its value.
        return {words[0]: rest.split(None, 1)[1] if len(words) > 1 else ""}
    pairs = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals:
            fail(f"ENV {rest!r} mixes forms")
        pairs[key] = value
    return pairs


# --- The root file system -------------------------------------------------------------------


def in_root(root, path):
    """PATH inside the container, as a path on this machine."""
    return os.path.join(root, path.lstrip("/"))


def debian_suite(image):
    repository, _, tag = image.partition(":")
    if repository not in ("debian", "docker.io/library/debian") or not tag:
        fail(f"the runtime stage starts FROM {image}; the rehearsal knows Debian's images only")
    return tag.removesuffix("-slim")


def base_root(suite, workdir):
    """Debian SUITE's minbase, made once per work directory (target/ keeps it between runs)."""
    base = os.path.join(workdir, f"base-{suite}")
    if not os.path.exists(os.path.join(base, ".complete")):
        shutil.rmtree(base, ignore_errors=True)
        say(f"debootstrap --variant=minbase {suite} from {MIRROR} (once)")
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", suite, base, MIRROR],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if done.returncode != 0:
            fail(f"debootstrap {suite} failed:\n{done.stdout[-3000:]}")
        open(os.path.join(base, ".complete"), "w").close()
    return base


def ids(root, user):
    """USER's uid and gid as the image's own /etc/passwd and /etc/group give them."""
    name, _, group = user.partition(":")

    def lookup(file, key):
        with open(os.path.join(root, "etc", file)) as table:
            for line in table:
                fields = line.rstrip("\n").split(":")
                if key in (fields[0], fields[2]):
                    return fields
        return None

    entry = lookup("passwd", name)
    uid = int(entry[2]) if entry else (int(name) if name.isdigit() else None)
    if uid is None:
        fail(f"USER {user}: no such user in the image")
    if group:
        group_entry = lookup("group", group)
        gid = int(group_entry[2]) if group_entry else (int(group) if group.isdigit() else None)
        if gid is None:
            fail(f"USER {user}: no such group in the image")
    else:
        gid = int(entry[3]) if entry else 0
    home = entry[5] if entry else "/"
    return uid, gid, home


def check_build_stage(build, source):
    """Stops unless the build stage still compiles `commerce` and installs it at SOURCE, the
    file `COPY --from=<build>` takes (for which the rehearsal puts cargo's binary)."""
    text = " ".join(rest for keyword, rest in build if keyword == "RUN")
    if "cargo build" not in text or "-p commerce" not in text or source not in text:
        fail(f"the build stage no longer builds `commerce` into {source}; update the rehearsal")


def prepare(dockerfile, binary, workdir):
    """Follows the runtime stage's instructions on a fresh copy of the base root; returns the
    container's configuration."""
    found = stages(instructions(open(dockerfile).read()))
    named = {name: body for _, name, body in found if name}
    image, _, body = found[-1]
    suite = debian_suite(image)
    base = base_root(suite, workdir)
    root = os.path.join(workdir, "rootfs")
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(["cp", "-a", base, root], check=True)
    os.remove(os.path.join(root, ".complete"))
    config = {
        "root": root,
        "user": "0:0",
        "env": {"PATH": IMAGE_PATH},
        "workdir": "/",
        "volumes": [],
        "ports": [],
        "entrypoint": [],
        "cmd": [],
        "healthcheck": None,
    }
    for keyword, rest in body:
        if "$" in rest and keyword not in ("RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK"):
            fail(f"{keyword} {rest}: variable substitution is not rehearsed")
        if keyword == "RUN":
            if rest.startswith("--"):
                fail(f"RUN flags ({rest.split()[0]}) in the runtime stage are not rehearsed")
            say(f"RUN {rest}")
            done = subprocess.run(
                ["chroot", root, "/usr/bin/env", "-i", *env_list(config["env"])]
                + command_form(rest)
            )
            if done.returncode != 0:
                fail(f"RUN {rest} failed with status {done.returncode}")
        elif keyword == "COPY":
            words = rest.split()
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            if stage is None or stage not in named or len(paths) != 2:
                fail(f"COPY {rest}: the rehearsal copies one file from the build stage only")
            if len(flags) != 1:
                fail(f"COPY {rest}: a flag the rehearsal does not know")
            source, target = paths
            check_build_stage(named[stage], source)
            destination = in_root(root, target)
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.copy2(binary, destination)
            say(f"COPY {source} (the build stage's binary, here {binary})")
        elif keyword == "USER":
            config["user"] = rest
        elif keyword == "ENV":
            config["env"].update(environment(rest))
        elif keyword == "WORKDIR":
            config["workdir"] = os.path.join(config["workdir"], rest)
            os.makedirs(in_root(root, config["workdir"]), exist_ok=True)
        elif keyword == "VOLUME":
            volumes = json.loads(rest) if rest.startswith("[") else rest.split()
            config["volumes"].extend(volumes)
        elif keyword == "EXPOSE":
            config["ports"].extend(int(port.split("/")[0]) for port in rest.split())
        elif keyword == "HEALTHCHECK":
            config["healthcheck"] = healthcheck(rest)
        elif keyword == "ENTRYPOINT":
            if not rest.startswith("["):
                fail("a shell-form ENTRYPOINT (which ignores CMD) is not rehearsed")
            config["entrypoint"] = command_form(rest)
        elif keyword == "CMD":
            config["cmd"] = command_form(rest)
        elif keyword in ("LABEL", "ARG"):
            continue
        else:
            fail(f"{keyword} in the runtime stage is not an instruction the rehearsal knows")
    uid, gid, home = ids(root, config["user"])
    if uid == 0:
        fail(f"the runtime stage runs as root (USER {config['user']}); it must run unprivileged")
    config.update(uid=uid, gid=gid)
    config["env"].setdefault("HOME", home)
    config["env"].setdefault("HOSTNAME", "rehearsal")
    for required in ("healthcheck", "entrypoint"):
        if not config[required]:
            fail(f"the runtime stage has no {required.upper()}")
    if not config["ports"] or not config["volumes"]:
        fail("the runtime stage EXPOSEs no port or declares no VOLUME")
    return config


def env_list(env):
    return [f"{key}={value}" for key, value in env.items()]


# --- The container --------------------------------------------------------------------------


class Container:
    """The image's process tree, run as an engine would run it (in this namespace)."""

    def __init__(self, config):
        self.config = config
        self.process = None
        self.log = os.path.join(os.path.dirname(config["root"]), "container.log")
        open(self.log, "w").close()

    def argv(self, args):
        config = self.config
        return [
            "chroot",
            f"--userspec={config['uid']}:{config['gid']}",
            f"--groups={config['gid']}",
            config["root"],
            "/usr/bin/env",
            "-i",
            f"--chdir={config['workdir']}",
            *env_list(config["env"]),
            *args,
        ]

    def start(self):
        config = self.config
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                self.argv(config["entrypoint"] + config["cmd"]), stdout=log, stderr=log
            )

    def run(self, args, timeout=30):
        """`docker run --rm <image> ARGS`: the entrypoint with other arguments."""
        return subprocess.run(
            self.argv(self.config["entrypoint"] + args),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def healthy(self):
        check = self.config["healthcheck"]
        try:
            done = subprocess.run(
                self.argv(check["command"]), capture_output=True, timeout=check["timeout"]
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def wait_healthy(self):
        """The engine's verdict: healthy once the check passes, within the start period and
        the retries after it (checked more often than the interval, to keep the test short)."""
        check = self.config["healthcheck"]
        deadline = time.monotonic() + check["start-period"] + check["retries"] * check["interval"]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"the server exited with status {self.process.returncode}")
            if self.healthy():
                return
            time.sleep(0.5)
        self.fail("the health check never passed")

    def stop(self):
        """`docker stop`: SIGTERM, SIGKILL after the grace period; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self.fail(f"SIGTERM did not end the server within {STOP_GRACE_SECONDS} s")

    def fail(self, message):
        if self.process and self.process.poll() is None:
            self.process.kill()
        with open(self.log) as log:
            fail(f"{message}; the container's output:\n{log.read()[-4000:]}")


def http(url, key=None):
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def inside(config):
    """The container's life, in the new network and mount namespaces tests/image.sh made."""
    root = config["root"]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # What an engine mounts into every container.
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)
    subprocess.run(["mount", "-t", "sysfs", "sysfs", os.path.join(root, "sys")], check=True)
    subprocess.run(["mount", "--rbind", "/dev", os.path.join(root, "dev")], check=True)

    container = Container(config)
    try:
        life(container)
    finally:
        if container.process and container.process.poll() is None:
            container.process.kill()


def life(container):
    """Started, checked, stopped and started again, as the module's documentation lists."""
    config = container.config
    root = config["root"]
    base = f"http://127.0.0.1:{config['ports'][0]}"
    say(f"starting {shlex.join(config['entrypoint'] + config['cmd'])} as {config['user']}")
    container.start()
    container.wait_healthy()
    status = open(f"/proc/{container.process.pid}/status").read()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    if uid_line.split()[1:] != [str(config["uid"])] * 4:
        container.fail(f"the server runs as {uid_line}, not as uid {config['uid']}")
    check = shlex.join(config["healthcheck"]["command"])
    say(f"healthy by {check}, running as uid {config['uid']}")

    code, body = http(f"{base}/health/ready")
    if code != 200:
        container.fail(f"GET /health/ready answered {code} on the EXPOSEd port")
    code, body = http(f"{base}/v1/products")
    products = json.loads(body).get("data") if code == 200 else None
    if products != []:
        container.fail(
            f"GET /v1/products answered {code} {body[:300]!r}: the demo catalog is meant to be off"
        )
    say("it answers on the EXPOSEd port, with no demo catalog")

    made = container.run(["api-keys", "create", "--name", "rehearsal", "--scope", "*"])
    key = made.stdout.strip()
    if made.returncode != 0 or not key:
        container.fail(f"`api-keys create` failed ({made.returncode}): {made.stderr[-2000:]}")
    code, _ = http(f"{base}/v1/admin/shipping-zones", key)
    if code != 200:
        container.fail(f"the key made by `api-keys create` was answered {code}")
    code, _ = http(f"{base}/v1/admin/shipping-zones")
    if code != 401:
        container.fail(f"an admin route without a key answered {code}, not 401")
    say("a one-off `api-keys create` works against the running server's store")

    volumes = {volume: in_root(root, volume) for volume in config["volumes"]}
    for volume, directory in volumes.items():
        kept = []
        for folder, _, files in os.walk(directory):
            kept.extend(os.path.join(folder, name) for name in files)
        strangers = [path for path in kept if os.stat(path).st_uid != config["uid"]]
        if not kept:
            container.fail(f"the server keeps nothing in the volume {volume}")
        if strangers:
            container.fail(f"files in {volume} belong to another user: {strangers[:10]}")
    # Files the server made anywhere else would live in the container's writable layer and be
    # lost with it.
    owned = subprocess.run(
        ["find", root, "-xdev", "-type", "f", "-uid", str(config["uid"])],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    prefixes = tuple(directory + "/" for directory in volumes.values())
    elsewhere = [path for path in owned if not path.startswith(prefixes)]
    if elsewhere:
        container.fail(f"the server wrote outside its volumes: {elsewhere[:10]}")
    say(f"everything it keeps is in {', '.join(config['volumes'])}, owned by uid {config['uid']}")

    status = container.stop()
    if status != 0:
        container.fail(f"after SIGTERM the server exited with status {status}, not 0")
    if container.healthy():
        container.fail("the health check passes with the server stopped")
    say("`docker stop` ends it cleanly, and the health check then fails")

    container.start()
    container.wait_healthy()
    code, _ = http(f"{base}/v1/admin/shipping-zones", key)
    if code != 200:
        container.fail(f"after a restart on the same volume the key was answered {code}")
    container.stop()
    say("restarted on the same volume, it is healthy and still knows the key")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(json.load(open(sys.argv[2])))
        return
    if len(sys.argv) != 4:
        fail("usage: tests/image.py DOCKERFILE BINARY WORKDIR")
    dockerfile, binary, workdir = sys.argv[1:]
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    config = prepare(dockerfile, os.path.abspath(binary), workdir)
    plan = os.path.join(workdir, "container.json")
    with open(plan, "w") as file:
        json.dump(config, file)
    # New network and mount namespaces: the port is the container's own, and every mount
    # made for it goes away with it.
    done = subprocess.run(
        ["unshare", "--net", "--mount", "--propagation", "private", "--fork",
         sys.executable, os.path.abspath(__file__), "--inside", plan]
    )
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
