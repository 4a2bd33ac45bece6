#!/usr/bin/env python3
"""Static checks of docker/Dockerfile, docker/docker-compose.yml and docker/kubernetes/*.

No Docker engine or cluster is needed: the YAML is parsed with PyYAML and the fields the
deployment relies on are asserted (host networking, probes on /healthz, secret references that
resolve, environment variable names the entrypoint knows, ...).

Usage: check_container_files.py --source-dir S [--kustomize-output FILE] [--daemon-libs PKG,...]
Exit 0 all checks passed, 1 a check failed, 77 PyYAML is not installed.
"""
import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:  # the caller falls back to textual checks
    print("SKIP: PyYAML not installed (Debian package python3-yaml)")
    sys.exit(77)

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)
    return ok


def entrypoint_variables(source):
    text = open(os.path.join(source, "docker/entrypoint.sh")).read()
    # Variables the entrypoint reads, plus the three turnpiked reads from its environment.
    return set(re.findall(r"\$\{?(TURNPIKE_[A-Z_]+)", text)) | {
        "TURNPIKE_REST_SECRETS", "TURNPIKE_API_KEYS", "TURNPIKE_REALM"}


# ---------------------------------------------------------------- Dockerfile

def dockerfile_instructions(path):
    """(instruction, argument) pairs with continuation lines joined and comments dropped."""
    out, current = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def check_dockerfile(source, runtime_packages):
    path = os.path.join(source, "docker/Dockerfile")
    ins = dockerfile_instructions(path)
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    check(len(froms) == 2, f"Dockerfile has two stages (found {len(froms)})")
    for i in froms:
        check(ins[i][1].split()[0] == "debian:bookworm-slim",
              f"stage FROM {ins[i][1]} is debian:bookworm-slim")
    build = ins[froms[0]:froms[-1]]
    runtime = ins[froms[-1]:]
    check(any(w == "RUN" and "cmake --build" in a for w, a in build),
          "build stage builds with cmake")
    build_apt = " ".join(a for w, a in build if w == "RUN" and "apt-get install" in a)
    deps = open(os.path.join(source, "scripts/deps.sh")).read()
    needed = set(re.findall(r"\b(lib[a-z0-9.+-]+-dev|nlohmann-json3-dev)\b", deps))
    # tests, benchmarks and fuzz targets are not built in the image
    needed -= {"libgtest-dev", "libgmock-dev", "libbenchmark-dev", "libclang-rt-14-dev"}
    for pkg in sorted(needed):
        check(pkg in build_apt.split(), f"build stage installs {pkg} (scripts/deps.sh)")
    apt = " ".join(a for w, a in runtime if w == "RUN" and "apt-get install" in a)
    installed = set(re.findall(r"\b(lib[a-z0-9.+-]+|curl|ca-certificates)\b", apt))
    dev = sorted(p for p in installed if p.endswith("-dev"))
    check(not dev, f"runtime stage installs no -dev packages ({dev})")
    for pkg in runtime_packages:
        check(pkg in installed, f"runtime stage installs {pkg} (a library turnpiked links)")
    users = [a for w, a in runtime if w == "USER"]
    check(bool(users) and users[-1] not in ("root", "0"), f"runtime USER is not root ({users})")
    health = [a for w, a in runtime if w == "HEALTHCHECK"]
    check(len(health) == 1 and "/healthz" in health[0], "HEALTHCHECK requests /healthz")
    if health and "curl" in health[0]:
        check("curl" in installed, "curl (used by HEALTHCHECK) is installed in the runtime stage")
    entry = [a for w, a in runtime if w == "ENTRYPOINT"]
    check(len(entry) == 1 and "entrypoint.sh" in entry[0], f"ENTRYPOINT is the entrypoint ({entry})")
    check(any(w == "COPY" and a.startswith("docker/entrypoint.sh") for w, a in runtime),
          "runtime stage copies docker/entrypoint.sh")
    check(any(w == "COPY" and a.startswith("--from=build") for w, a in runtime),
          "runtime stage copies the binaries from the build stage")
    # Everything the build stage COPYs must exist in the repository (the context is its root).
    for w, a in build:
        if w == "COPY" and not a.startswith("--from"):
            for src in a.split()[:-1]:
                check(os.path.exists(os.path.join(source, src)), f"COPY source {src} exists")
    ignore = os.path.join(source, "docker/Dockerfile.dockerignore")
    check(os.path.exists(ignore) and ".git" in open(ignore).read().split(),
          "docker/Dockerfile.dockerignore keeps .git out of the context")


# ---------------------------------------------------------------- compose

def check_compose_service(svc, name, known_vars, host_network):
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    unknown = sorted(set(env) - known_vars)
    check(not unknown, f"{name}: every environment variable is read by the entrypoint ({unknown})")
    check("TURNPIKE_REST_SECRETS" in env, f"{name}: sets TURNPIKE_REST_SECRETS")
    build = svc.get("build", {})
    check(build.get("dockerfile") == "docker/Dockerfile", f"{name}: builds docker/Dockerfile")
    check("/run/turnpike" in svc.get("tmpfs", []),
          f"{name}: /run/turnpike is writable (the entrypoint renders the config there)")
    check(svc.get("ulimits", {}).get("nofile", {}).get("soft") == 65536, f"{name}: nofile 65536")
    check("NET_BIND_SERVICE" in svc.get("cap_add", []), f"{name}: keeps NET_BIND_SERVICE")
    if host_network:
        check(svc.get("network_mode") == "host", f"{name}: network_mode host")
        check("ports" not in svc, f"{name}: publishes no ports (host networking)")
    else:
        check("network_mode" not in svc, f"{name}: bridge networking")
        relay = [p for p in svc.get("ports", []) if str(p).endswith("/udp") and "-" in str(p)]
        check(len(relay) == 1, f"{name}: publishes one UDP relay range ({relay})")
        if relay:
            lo, hi = map(int, str(relay[0]).split(":")[0].split("-"))
            check(hi - lo + 1 <= 200, f"{name}: the published relay range is narrow ({hi - lo + 1} ports)")
            rp = str(env.get("TURNPIKE_RELAY_PORTS", ""))
            check(rp == f"{lo}-{hi}", f"{name}: TURNPIKE_RELAY_PORTS {rp} matches the published range")
        check("TURNPIKE_PUBLIC_IP" in env, f"{name}: sets TURNPIKE_PUBLIC_IP (relay address is NATed)")


def check_compose(source, known_vars):
    path = os.path.join(source, "docker/docker-compose.yml")
    text = open(path).read()
    doc = yaml.safe_load(text)
    svc = doc.get("services", {}).get("turnpike")
    if not check(isinstance(svc, dict), "compose: service turnpike"):
        return
    check_compose_service(svc, "compose", known_vars, host_network=True)
    context = os.path.normpath(os.path.join(os.path.dirname(path), svc["build"]["context"]))
    check(os.path.exists(os.path.join(context, svc["build"]["dockerfile"])),
          "compose: build context + dockerfile point at docker/Dockerfile")
    check(re.search(r"^#.*docker-proxy", text, re.M) is not None and "#1681" in text,
          "compose: a comment explains host networking (docker-proxy, coturn #1681)")
    # The commented bridge variant must be valid compose once uncommented.
    m = re.search(r"\(BEGIN bridge variant\).*?\n(.*?)\n# ---- \(END bridge variant\)", text, re.S)
    if check(m is not None, "compose: commented bridge variant present"):
        body = "\n".join(re.sub(r"^# ?", "", l) for l in m.group(1).splitlines()
                         if l.startswith("#   ") or l.startswith("# services:") or l.startswith("#  "))
        variant = yaml.safe_load(body)
        bsvc = (variant or {}).get("services", {}).get("turnpike")
        if check(isinstance(bsvc, dict), "compose bridge variant parses"):
            check_compose_service(bsvc, "compose (bridge variant)", known_vars, host_network=False)


# ---------------------------------------------------------------- Kubernetes

def load_k8s(source, kustomize_output):
    kdir = os.path.join(source, "docker/kubernetes")
    kust = yaml.safe_load(open(os.path.join(kdir, "kustomization.yaml")))
    for r in kust.get("resources", []):
        check(os.path.exists(os.path.join(kdir, r)), f"kustomization resource {r} exists")
    if kustomize_output:
        docs = [d for d in yaml.safe_load_all(open(kustomize_output)) if d]
        print(f"note: checking the `kubectl kustomize` output ({len(docs)} objects)")
    else:
        docs = []
        for r in kust.get("resources", []):
            docs += [d for d in yaml.safe_load_all(open(os.path.join(kdir, r))) if d]
        print(f"note: checking the resource files directly ({len(docs)} objects)")
    extra = [d for d in yaml.safe_load_all(open(os.path.join(kdir, "podmonitor.yaml"))) if d]
    return kust, docs, extra


def check_k8s(source, kustomize_output, known_vars):
    kust, docs, extra = load_k8s(source, kustomize_output)
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in ("Namespace", "ConfigMap", "Secret", "DaemonSet"):
        check(len(by_kind.get(kind, [])) == 1, f"k8s: one {kind}")
    if len(by_kind.get("DaemonSet", [])) != 1:
        return
    ds = by_kind["DaemonSet"][0]
    spec = ds["spec"]["template"]["spec"]
    pod_labels = ds["spec"]["template"]["metadata"].get("labels", {})
    check(spec.get("hostNetwork") is True, "DaemonSet: hostNetwork: true")
    check(spec.get("dnsPolicy") == "ClusterFirstWithHostNet", "DaemonSet: dnsPolicy ClusterFirstWithHostNet")
    sel = ds["spec"]["selector"]["matchLabels"]
    check(all(pod_labels.get(k) == v for k, v in sel.items()), "DaemonSet: selector matches the pod labels")
    c = spec["containers"][0]
    ports = {p["name"]: p for p in c.get("ports", [])}
    check(ports.get("http", {}).get("containerPort") == 9641, "container port http = 9641")
    check(ports.get("turns", {}).get("containerPort") == 443, "container port turns = 443")
    check(ports.get("turn-udp", {}).get("protocol") == "UDP", "container port turn-udp is UDP")
    for probe in ("readinessProbe", "livenessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == "/healthz", f"{probe} on /healthz")
        port = get.get("port")
        check(port in ports or port in [p["containerPort"] for p in ports.values()],
              f"{probe} port {port} is a declared container port")
    configmaps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    secrets = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}
    env_names = set()
    secret_refs = []
    for e in c.get("env", []):
        env_names.add(e["name"])
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            secret_refs.append((e["name"], ref))
    for ef in c.get("envFrom", []):
        name = ef.get("configMapRef", {}).get("name")
        if check(name in configmaps, f"envFrom ConfigMap {name} exists"):
            env_names |= set(configmaps[name].get("data", {}))
    unknown = sorted(env_names - known_vars)
    check(not unknown, f"k8s: every environment variable is read by the entrypoint ({unknown})")
    refs = dict(secret_refs)
    for var in ("TURNPIKE_REST_SECRETS", "TURNPIKE_API_KEYS"):
        ref = refs.get(var)
        if check(ref is not None, f"{var} comes from a secretKeyRef"):
            s = secrets.get(ref["name"])
            keys = set((s or {}).get("stringData", {})) | set((s or {}).get("data", {}))
            check(s is not None and ref["key"] in keys,
                  f"{var}: Secret {ref['name']} has key {ref['key']}")
    check(refs.get("TURNPIKE_REST_SECRETS", {}).get("optional") is not True,
          "TURNPIKE_REST_SECRETS is not optional")
    check("TURNPIKE_RELAY_ADDRESS" in env_names, "TURNPIKE_RELAY_ADDRESS is set (node IP)")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in spec.get("volumes", [])}
    check("/run/turnpike" in mounts and "emptyDir" in vols.get(mounts["/run/turnpike"], {}),
          "/run/turnpike is an emptyDir (the entrypoint renders the config there)")
    tls = vols.get(mounts.get("/etc/turnpike/tls", ""), {}).get("secret", {})
    check(tls.get("secretName") == "turnpike-tls", "TLS secret turnpike-tls mounted at /etc/turnpike/tls")
    cm_data = next(iter(configmaps.values()), {}).get("data", {})
    check(str(cm_data.get("TURNPIKE_TLS_CERT", "")).startswith("/etc/turnpike/tls/"),
          "TURNPIKE_TLS_CERT points into the mounted TLS secret")
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
    check(sc.get("capabilities", {}).get("add") == ["NET_BIND_SERVICE"]
          and sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities: drop ALL, add NET_BIND_SERVICE")
    check(spec.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot")
    ann = ds["spec"]["template"]["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == "9641"
          and ann.get("prometheus.io/path") == "/metrics", "prometheus.io annotations on the pod")
    pm = [d for d in extra if d.get("kind") == "PodMonitor"]
    if check(len(pm) == 1, "podmonitor.yaml holds a PodMonitor"):
        m = pm[0]["spec"]
        check(all(pod_labels.get(k) == v for k, v in m["selector"]["matchLabels"].items()),
              "PodMonitor selector matches the pod labels")
        ep = m["podMetricsEndpoints"][0]
        check(ep.get("port") in ports and ep.get("path") == "/metrics",
              "PodMonitor scrapes /metrics on a declared port")
    image_names = {i["name"] for i in kust.get("images", [])}
    check(c["image"].split(":")[0] in image_names or any(
        c["image"].startswith(i.get("newName", "\0")) for i in kust.get("images", [])),
        f"container image {c['image']} is managed by kustomization images")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--kustomize-output")
    ap.add_argument("--daemon-libs", default="", help="runtime packages the binaries need")
    a = ap.parse_args()
    known = entrypoint_variables(a.source_dir)
    print("=== Dockerfile")
    check_dockerfile(a.source_dir, [p for p in a.daemon_libs.split(",") if p])
    print("=== docker-compose.yml")
    check_compose(a.source_dir, known)
    print("=== Kubernetes")
    check_k8s(a.source_dir, a.kustomize_output, known)
    if failures:
        print(f"check_container_files: {len(failures)} failure(s)")
        return 1
    print("check_container_files: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
