#!/usr/bin/env python3
"""The budgets: size, CPU and memory of aws-oidc beside the bare client and curl.

`make bench` runs this after `make release`. It builds the bare client with the
release profile, starts the TLS STS stand-in, runs real/bare/curl exchanges
interleaved (BENCH_ROUNDS rounds, default 200), measures the image layer, prints
a table with a HOLDS/FAILS verdict per budget, writes target/bench.json and
rewrites the tables of docs/measured.md (between the bench markers) from it,
so its figures are always those of the last run.
Exit 0 even when a budget fails; non-zero when something could not run.

`bench.py --measured [BENCH_JSON]` only renders those tables from a saved run
(default target/bench.json) and prints them; tests/it/release.rs compares that
with docs/measured.md.
"""
import base64, hashlib, json, os, platform, re, shutil, statistics
import subprocess, sys, tarfile, tempfile, time

import measured_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
AMD64, ARM64 = "x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"
MB = 1_000_000
TOOLS = ["real", "bare", "curl"]

# Why a C launcher: a child's ru_maxrss is the max of its own peak and the RSS
# of the process it exec'd from, so a child forked from Python reports Python's
# RSS (~14 MB). This static helper vforks from a tiny process, execs the
# command, and prints its exit code, user and sys CPU (us), maxrss (KiB) and
# wall time (ns) on a last line.
LAUNCHER_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
extern char **environ;
int main(int argc, char **argv) {
    struct timespec t0, t1; struct rusage ru; int st;
    if (argc < 2) return 127;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = vfork();
    if (pid == 0) { execve(argv[1], argv + 1, environ); _exit(127); }
    if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) return 127;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("\nRUSAGE %d %ld %ld %ld %ld\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
        ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec, ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec,
        ru.ru_maxrss, (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
    return 0;
}
"""


class BenchError(Exception):
    """Something could not run; the bench is invalid."""


def machine():
    """nproc, CPU model and kernel, for the top of the report."""
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release()}


def version():
    """The package version from Cargo.toml (first `version = ` line)."""
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        for line in f:
            if line.startswith("version = "):
                return line.split('"')[1]
    raise BenchError("no version in Cargo.toml")


def run(cmd, env=None, what=None):
    """Run a build command in the repo; raise BenchError if it fails."""
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd, cwd=ROOT, env=env).returncode != 0:
        raise BenchError(f"{what or cmd[0]} failed")


def build_musl():
    """Build aws-oidc and the bare client for both musl targets with exactly
    `make release`'s flags and target dir (`make release bare-client`), so
    sizes compare fairly and dist/ can be checked against a fresh build."""
    run(["make", "-s", "release", "bare-client"], None, "musl build")
    out = {}
    for arch, triple in (("amd64", AMD64), ("arm64", ARM64)):
        built = os.path.join(ROOT, "target/dist-build", triple, "release")
        dist = os.path.join(ROOT, "dist", f"aws-oidc-linux-{arch}")
        if not os.path.exists(dist):
            raise BenchError(f"{dist} is missing: run `make release`")
        if sha256(dist) != sha256(os.path.join(built, "aws-oidc")):
            raise BenchError(f"{dist} differs from a fresh build of this tree: run `make release`")
        out[arch] = {"real": dist, "bare": os.path.join(built, "examples", "bare-client")}
    return out


def sha256(path):
    """Hex SHA-256 of a file."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def start_standin():
    """Start the TLS stand-in; return (process, port, CA path)."""
    exe = os.path.join(ROOT, "target/release/examples/sts-standin")
    if not os.path.exists(exe):
        raise BenchError(f"{exe} is missing: cargo build --release --locked --example sts-standin")
    # It serves until its stdin closes, then removes its CA folder. Its own
    # session keeps Ctrl-C away from it: the `finally` in main closes the pipe.
    proc = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        port, ca = proc.stdout.readline().split()
    except ValueError:
        stop_standin(proc)
        raise BenchError("the STS stand-in did not start")
    return proc, port, ca


def stop_standin(proc):
    """Close the stand-in's stdin, which ends it and removes its folder."""
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def b64url(data):
    """Unpadded base64url, as in a JWT."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token():
    """A JWT-shaped token the stand-in accepts."""
    claims = {"iss": "https://app.harness.io/ng/api/oidc/account/x", "aud": "sts.amazonaws.com",
              "sub": "bench", "exp": int(time.time()) + 3600}
    return ".".join([b64url(b'{"alg":"RS256","typ":"JWT"}'),
                     b64url(json.dumps(claims).encode()), b64url(b"signature")])


def commands(bins, port, ca, tok, secret_file):
    """argv and env for one exchange by each tool (curl only if installed)."""
    endpoint = f"https://127.0.0.1:{port}"
    real_env = {"PLUGIN_IAMROLEARN": ROLE_ARN, "PLUGIN_OIDC_TOKEN_ID": tok,
                "PLUGIN_STS_ENDPOINT": endpoint, "PLUGIN_CA_BUNDLE": ca,
                "HARNESS_OUTPUT_SECRET_FILE": secret_file, "PLUGIN_LOG_LEVEL": "error"}
    cmds = {"real": ([bins["real"]], real_env),
            "bare": ([bins["bare"], endpoint + "/", ca, tok], {})}
    curl = shutil.which("curl")
    if curl:
        form = ["Action=AssumeRoleWithWebIdentity", "Version=2011-06-15", f"RoleArn={ROLE_ARN}",
                "RoleSessionName=bench", f"WebIdentityToken={tok}"]
        argv = [curl, "-sS", "--cacert", ca, "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}"]
        for field in form:
            argv += ["--data-urlencode", field]
        cmds["curl"] = (argv + [endpoint + "/"], {})
    return cmds


def exchange(launcher, name, argv, env, secret_file):
    """One measured exchange; checks it really succeeded. Returns the figures."""
    open(secret_file, "w").close()
    p = subprocess.run([launcher] + argv, env=env, capture_output=True, text=True)
    *out, last = p.stdout.rstrip("\n").split("\n")
    if p.returncode != 0 or not last.startswith("RUSAGE "):
        raise BenchError(f"launcher failed for {name}: {p.stderr.strip()}")
    rc, user, sys_, rss, wall = map(int, last.split()[1:])
    out = "\n".join(out).strip()
    if name == "real":
        with open(secret_file) as f:
            ok = "AWS_ACCESS_KEY_ID=" in f.read()
    else:  # bare prints the AccessKeyId, curl the HTTP status
        ok = out.startswith("ASIA") if name == "bare" else out == "200"
    if rc != 0 or not ok:
        raise BenchError(f"{name} exchange failed (exit {rc}): {out} {p.stderr.strip()}")
    return {"cpu_us": user + sys_, "wall_us": wall / 1000, "maxrss_kib": rss}


def bench(launcher, cmds, secret_file, rounds):
    """Rounds of one exchange per tool, in an order that rotates each round."""
    names = list(cmds)
    samples = {n: [] for n in names}
    for r in range(-3, rounds):  # three warm-up rounds, not recorded
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            s = exchange(launcher, n, *cmds[n], secret_file)
            if r >= 0:
                samples[n].append(s)
    return samples


# The command of the --serve run: asks the endpoint N times, then prints the
# peak RSS of its parent, aws-oidc, from /proc (VmHWM, KiB).
SERVE_CLIENT = r"""
import http.client, os, sys, urllib.parse
u = urllib.parse.urlparse(os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
h = {"Host": "%s:%d" % (u.hostname, u.port), "Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
for _ in range(int(sys.argv[1])):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.putrequest("GET", u.path, skip_host=True, skip_accept_encoding=True)
    for k, v in h.items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("HTTP %d" % r.status)
with open("/proc/%d/status" % os.getppid()) as f:
    print([l.split()[1] for l in f if l.startswith("VmHWM:")][0])
"""


def serve_rss(real, port, ca, tok, tmp, requests):
    """Peak RSS (KiB) of `aws-oidc --serve` over `requests` requests. Its
    15-minute credentials are always inside the SDKs' window, so it
    refreshes as often as it may (once a minute): the first request does."""
    client = os.path.join(tmp, "serve_client.py")
    with open(client, "w") as f:
        f.write(SERVE_CLIENT)
    env = {"PLUGIN_IAMROLEARN": ROLE_ARN, "PLUGIN_OIDC_TOKEN_ID": tok,
           "PLUGIN_STS_ENDPOINT": f"https://127.0.0.1:{port}", "PLUGIN_CA_BUNDLE": ca,
           "PLUGIN_DURATION": "900", "PLUGIN_LOG_LEVEL": "error", "PATH": os.environ.get("PATH", "")}
    p = subprocess.run([real, "--serve", "--", sys.executable, client, str(requests)],
                       env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError(f"the --serve run failed (exit {p.returncode}): {p.stdout} {p.stderr.strip()}")
    return int(p.stdout.split()[-1])


def summary(values):
    """Median, p10, p90, min, max of a list of numbers."""
    dec = statistics.quantiles(values, n=10, method="inclusive")
    return {"median": statistics.median(values), "p10": dec[0], "p90": dec[8],
            "min": min(values), "max": max(values)}


def image_layer(ver, dist_amd64):
    """Compressed (gzip) layer size of aws-oidc:VER-amd64 via buildah, after
    checking the layer holds the current dist binary (else `make image` once).
    Returns (bytes or None, note, error or None)."""
    if not shutil.which("buildah"):
        return None, "not measured: buildah is not installed", None
    buildah = ["buildah", "--storage-driver", "vfs"]
    ref = f"localhost/aws-oidc:{ver}-amd64"
    for attempt in ("existing", "rebuilt"):
        exists = subprocess.run(buildah + ["inspect", "--type", "image", ref],
                                capture_output=True).returncode == 0
        if exists:
            size, binary_sha = push_and_read(buildah, ref)
            if binary_sha == sha256(dist_amd64):
                return size, f"{ref}, gzip layer from buildah push", None
        if attempt == "existing":
            print(f"image {ref} is {'stale' if exists else 'missing'}; running make image", flush=True)
            if subprocess.run(["make", "image"], cwd=ROOT).returncode != 0:
                return None, "not measured: make image failed", "make image failed"
    return None, "not measured", f"{ref} does not hold dist/aws-oidc-linux-amd64 after make image"


def push_and_read(buildah, ref):
    """Push the image to an OCI dir; return (summed layer sizes, sha256 of /aws-oidc in it)."""
    with tempfile.TemporaryDirectory() as d:
        # The same compression `make image-archive` ships with.
        push = buildah + ["push", "--quiet", "--compression-format", "gzip", "--compression-level", "9", ref, f"oci:{d}"]
        if subprocess.run(push, stdout=subprocess.DEVNULL).returncode != 0:
            return None, None
        blob = lambda digest: os.path.join(d, "blobs", *digest.split(":"))
        with open(os.path.join(d, "index.json")) as f:
            manifest_digest = json.load(f)["manifests"][0]["digest"]
        with open(blob(manifest_digest)) as f:
            layers = json.load(f)["layers"]
        binary_sha = None
        for layer in layers:
            with tarfile.open(blob(layer["digest"]), "r:gz") as tar:
                for m in tar.getmembers():
                    if m.name.lstrip("./") == "aws-oidc":
                        binary_sha = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
        return sum(layer["size"] for layer in layers), binary_sha


def verdict(name, value, limit, shown):
    """One budget line: HOLDS/FAILS (or NOT MEASURED when value is None)."""
    if value is None:
        return {"budget": name, "verdict": "NOT MEASURED", "detail": shown}
    return {"budget": name, "verdict": "HOLDS" if value <= limit else "FAILS", "value": value,
            "limit": limit, "detail": shown}


def size(n):
    """Bytes as MB (10^6) and MiB."""
    return f"{n:>9,} B = {n / MB:.3f} MB = {n / 2**20:.3f} MiB"


def report(info, sizes, layer, layer_note, stats, rounds, serve):
    """Print the tables and verdicts; return the verdict list."""
    print(f"\nmachine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}")
    print(f"rounds: {rounds} per tool, interleaved (rotating order), after 3 warm-up rounds\n")
    print("binary sizes (stripped, as built):")
    for key, n in sizes.items():
        print(f"  {key:<12} {size(n)}")
    print(f"  {'image layer':<12} " + (f"{size(layer)}  ({layer_note})" if layer else layer_note))
    print("\nper exchange (median [p10-p90], max); wall includes the stand-in's work on the same CPUs:")
    print(f"  {'tool':<5} {'CPU user+sys ms':<26} {'wall ms':<26} {'peak RSS KiB':<20}")
    for n in TOOLS:
        if n not in stats:
            print(f"  {n:<5} not measured: curl is not installed")
            continue
        cells = []
        for key, scale in (("cpu_us", 1000), ("wall_us", 1000), ("maxrss_kib", 1)):
            s = {k: v / scale for k, v in stats[n][key].items()}
            fmt = "{:.0f}" if scale == 1 else "{:.3f}"
            cells.append((fmt + " [" + fmt + "-" + fmt + "], " + fmt).format(
                s["median"], s["p10"], s["p90"], s["max"]))
        print(f"  {n:<5} {cells[0]:<26} {cells[1]:<26} {cells[2]:<20}")
    cpu = {n: stats[n]["cpu_us"]["median"] for n in stats}
    r_bare = cpu["real"] / cpu["bare"]
    r_curl = cpu["real"] / cpu["curl"] if "curl" in cpu else None
    r_size = sizes["real amd64"] / sizes["bare amd64"]
    print(f"\nratios: real/bare CPU median {r_bare:.3f}x, real/curl CPU median "
          + (f"{r_curl:.3f}x" if r_curl else "n/a (no curl)") + f", real/bare amd64 size {r_size:.3f}x")
    rss = stats["real"]["maxrss_kib"]["max"] * 1024
    verdicts = [
        verdict("amd64 binary <= 1.85 MB", sizes["real amd64"], 1.85 * MB, size(sizes["real amd64"])),
        verdict("amd64 binary <= 1.05x bare", r_size, 1.05, f"{r_size:.3f}x ({sizes['bare amd64']:,} B bare)"),
        verdict("arm64 binary <= 1.65 MB", sizes["real arm64"], 1.65 * MB, size(sizes["real arm64"])),
        verdict("image layer <= 1.03 MB", layer, 1.03 * MB, size(layer) if layer else layer_note),
        verdict("CPU median <= 1.0x bare", r_bare, 1.0,
                f"{r_bare:.3f}x ({cpu['real'] / 1000:.3f} ms vs {cpu['bare'] / 1000:.3f} ms)"),
        verdict("CPU median <= 0.35x curl", r_curl, 0.35,
                f"{r_curl:.3f}x ({cpu['real'] / 1000:.3f} ms vs {cpu['curl'] / 1000:.3f} ms)"
                if r_curl else "curl is not installed"),
        verdict("peak RSS <= 4 MB", rss, 4 * MB, f"max over runs {rss:,} B = {rss / MB:.3f} MB"),
        verdict("peak RSS <= 4 MB, --serve", serve["rss_kib"] * 1024, 4 * MB,
                f"{serve['rss_kib'] * 1024:,} B = {serve['rss_kib'] * 1024 / MB:.3f} MB over "
                f"{serve['requests']} requests, one refresh"),
    ]
    if "real windows" in sizes:
        verdicts.append(verdict("Windows exe <= 2.0 MB", sizes["real windows"], 2.0 * MB,
                                size(sizes["real windows"])))
    print("\nbudgets:")
    for v in verdicts:
        print(f"  {v['verdict']:<12} {v['budget']:<28} {v['detail']}")
    return verdicts


def main():
    rounds = int(os.environ.get("BENCH_ROUNDS", "200"))
    if rounds < 2:
        raise BenchError("BENCH_ROUNDS must be at least 2")
    info = machine()
    print(f"machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}", flush=True)
    bins = build_musl()
    sizes = {f"{k} {arch}": os.path.getsize(bins[arch][k]) for arch in bins for k in ("real", "bare")}
    windows = os.path.join(ROOT, "dist", "aws-oidc-windows-amd64.exe")
    if os.path.exists(windows):
        sizes["real windows"] = os.path.getsize(windows)
    standin = None
    with tempfile.TemporaryDirectory(prefix="aws-oidc-bench-") as tmp:
        launcher = os.path.join(tmp, "launch")
        with open(launcher + ".c", "w") as f:
            f.write(LAUNCHER_C)
        run(["cc", "-static", "-O2", "-o", launcher, launcher + ".c"], what="compiling the launcher")
        try:
            standin, port, ca = start_standin()
            secret_file = os.path.join(tmp, "secrets.env")
            cmds = commands(bins["amd64"], port, ca, token(), secret_file)
            print(f"running {rounds} rounds of {', '.join(cmds)} against 127.0.0.1:{port} ...", flush=True)
            samples = bench(launcher, cmds, secret_file, rounds)
            requests = int(os.environ.get("BENCH_SERVE_REQUESTS", "2000"))
            print(f"running --serve with {requests} requests ...", flush=True)
            serve = {"requests": requests,
                     "rss_kib": serve_rss(bins["amd64"]["real"], port, ca, token(), tmp, requests)}
        finally:
            if standin:
                stop_standin(standin)
    stats = {n: {k: summary([s[k] for s in samples[n]]) for k in samples[n][0]} for n in samples}
    layer, layer_note, image_error = image_layer(version(), bins["amd64"]["real"])
    verdicts = report(info, sizes, layer, layer_note, stats, rounds, serve)
    out = {"machine": info, "rounds": rounds, "sizes_bytes": sizes, "image_layer_bytes": layer,
           "serve": serve,
           "image_note": layer_note, "summary": stats, "samples": samples, "verdicts": verdicts}
    with open(os.path.join(ROOT, "target", "bench.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("\nraw figures and verdicts: target/bench.json")
    write_measured(render_measured(out))
    print("docs/measured.md: the tables now hold these figures")
    if image_error:
        raise BenchError(f"the image layer could not be measured: {image_error}")


BEGIN = "<!-- bench:begin (written by make bench from target/bench.json; do not edit) -->"
END = "<!-- bench:end -->"


def render_measured(out):
    """docs/measured.md's tables from one run's figures (bench.json's shape)."""
    m, sizes, stats = out["machine"], out["sizes_bytes"], out["summary"]
    ms = lambda n, k: stats[n]["cpu_us"][k] / 1000
    rss = lambda n: stats[n]["maxrss_kib"]["median"] * 1024 / MB
    cpu = lambda n: f"{ms(n, 'median'):.2f} ms [{ms(n, 'p10'):.2f}–{ms(n, 'p90'):.2f}]"
    b = lambda n: f"{n:,} B"
    rows = [("`aws-oidc` amd64", b(sizes["real amd64"]), cpu("real"), f"{rss('real'):.1f} MB"),
            ("bare client amd64", b(sizes["bare amd64"]), cpu("bare"), f"{rss('bare'):.1f} MB")]
    if "curl" in stats:
        rows.append(("`curl` (same POST)", "—", cpu("curl"), f"{rss('curl'):.1f} MB"))
    rows.append(("`aws-oidc` arm64", b(sizes["real arm64"]), "", ""))
    layer = out.get("image_layer_bytes")
    rows.append(("image layer (gzip -9, amd64)", b(layer) if layer else out.get("image_note", "not measured"), "", ""))
    if "real windows" in sizes:
        rows.append(("`aws-oidc` Windows amd64", b(sizes["real windows"]), "", ""))
    lines = [BEGIN,
             f"`make bench` on {m['nproc']} cores ({m['cpu']}, Linux {m['kernel']}), {out['rounds']} interleaved",
             "rounds against the TLS stand-in on 127.0.0.1, in one run:", "",
             "| | size | CPU per exchange, median [p10–p90] | peak RSS (median) |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "| budget | measured | |", "|---|---|---|"]
    for v in out["verdicts"]:
        value = v.get("value")
        if value is None:
            shown = "not measured"
        elif v["limit"] > 1000:  # bytes
            shown = f"{value / MB:.3f} MB"
        else:  # a ratio
            shown = f"{value:.3f}×"
        word = {"HOLDS": "holds", "FAILS": "**does not hold**"}.get(v["verdict"], "not measured")
        budget = re.sub(r"(\d)x\b", "\\1×", v["budget"].replace("<=", "≤"))
        lines.append(f"| {budget} | {shown} | {word} |")
    extra = sizes["real amd64"] - sizes["bare amd64"]
    lines += ["", f"Everything `aws-oidc` adds to the bare client costs {extra / 1000:.0f} KB on amd64",
              f"(the 1.05× budget allows {0.05 * sizes['bare amd64'] / 1000:.0f} KB).", END]
    return "\n".join(lines) + "\n"


def write_measured(block):
    """Replace docs/measured.md's block between the bench markers with `block`."""
    measured_block.replace(BEGIN, END, block, BenchError)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measured"]:
        path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target", "bench.json")
        with open(path) as f:
            sys.stdout.write(render_measured(json.load(f)))
        sys.exit(0)
    try:
        main()
    except (BenchError, OSError) as e:
        sys.exit(f"bench: could not run: {e}")
