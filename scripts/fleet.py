#!/usr/bin/env python3
"""Issue 12: hundreds of pipelines at once, and STS having a bad minute.

`make fleet` runs this after building the release binary. For each scenario
it starts the TLS STS stand-in (examples/sts-standin.rs) in a throttling,
outage or refusing mode on 127.0.0.1, starts N real binaries at once with
default settings (an explicit loopback endpoint and the stand-in's CA
bundle), waits for all of them, asks the stand-in how many requests it saw,
and prints, next to the ideal N / rate: the successes and exit codes, the
p50, p99 and slowest completion, and the requests per success.

Scenarios (default): storms of 100, 300 and 500 runs against 20 requests/s
(a token bucket holding 20); 50 runs through 20 s of 503s; 100 runs meeting
AccessDenied; 100 runs with timeout 5 against a stand-in that never stops
throttling. FLEET_BIN picks the binary (default dist/aws-oidc-linux-amd64),
FLEET_SIZES the storm sizes, FLEET_RATE the rate. With the default
scenarios it rewrites the table in docs/measured.md between the `fleet:begin` and
`fleet:end` markers; it always writes target/fleet.json.

Bounded: at most 1000 runs a scenario, and every run is killed if it is
still going 20 s after its own timeout. Exit 0 when everything ran (whatever
the figures), non-zero when something could not run.
"""
import base64, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

import measured_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLE_ARN = "arn:aws:iam::123456789012:role/fleet"
STANDIN = os.path.join(ROOT, "target/release/examples/sts-standin")
BEGIN, END = "<!-- fleet:begin -->", "<!-- fleet:end -->"
MAX_RUNS = 1000
GRACE = 20  # seconds a run may outlive its own timeout before it is killed


class FleetError(Exception):
    """Something could not run; the figures are invalid."""


def b64url(data):
    """Unpadded base64url, as in a JWT."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(n):
    """A JWT-shaped token the stand-in accepts, one per run."""
    claims = {"iss": "https://app.harness.io/ng/api/oidc/account/x", "aud": "sts.amazonaws.com",
              "sub": f"fleet-{n}", "exp": int(time.time()) + 3600}
    return ".".join([b64url(b'{"alg":"RS256","typ":"JWT"}'),
                     b64url(json.dumps(claims).encode()), b64url(b"signature")])


class StandIn:
    """The stand-in process in one mode; `counts()` asks it over stdin."""

    def __init__(self, args):
        if not os.path.exists(STANDIN):
            raise FleetError(f"{STANDIN} is missing: cargo build --release --locked --example sts-standin")
        self.proc = subprocess.Popen([STANDIN] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            self.port, self.ca = self.proc.stdout.readline().split()
        except ValueError:
            self.stop()
            raise FleetError("the STS stand-in did not start")

    def counts(self):
        """(requests, credentials issued) so far."""
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        fields = dict(kv.split("=") for kv in self.proc.stdout.readline().split())
        return int(fields["requests"]), int(fields["issued"])

    def cpu(self):
        """CPU seconds (user + sys) the stand-in has used (Linux /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        # Closing its stdin ends the stand-in, which removes its own folder;
        # a kill (and the rmtree below) is only for one that does not end.
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        ca_dir = os.path.dirname(getattr(self, "ca", ""))
        if os.path.basename(ca_dir).startswith("aws-oidc-sts-"):
            shutil.rmtree(ca_dir, ignore_errors=True)


def percentile(values, p):
    """The p-th percentile (nearest rank) of a sorted list."""
    return values[max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))]


def fleet(binary, standin_args, n, timeout=None):
    """Starts n runs at once against a fresh stand-in; returns the figures."""
    if not 1 <= n <= MAX_RUNS:
        raise FleetError(f"{n} runs: a scenario runs 1-{MAX_RUNS}")
    sts = StandIn(standin_args)
    tmp = tempfile.mkdtemp(prefix="aws-oidc-fleet-")
    procs, done, lock = [], {}, threading.Lock()
    limit = (timeout or 60) + GRACE
    try:
        base = {"PLUGIN_IAMROLEARN": ROLE_ARN, "PLUGIN_STS_ENDPOINT": f"https://127.0.0.1:{sts.port}",
                "PLUGIN_CA_BUNDLE": sts.ca, "PLUGIN_LOG_LEVEL": "info"}
        if timeout:
            base["PLUGIN_TIMEOUT"] = str(timeout)
        envs = [dict(base, PLUGIN_OIDC_TOKEN_ID=token(i),
                     HARNESS_OUTPUT_SECRET_FILE=os.path.join(tmp, f"secret-{i}.env")) for i in range(n)]
        logs = [open(os.path.join(tmp, f"stderr-{i}.txt"), "w") for i in range(n)]
        t0 = time.monotonic()
        for i in range(n):
            procs.append(subprocess.Popen([binary], env=envs[i], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=logs[i]))
        launched = time.monotonic() - t0

        # One blocking wait for any child times each completion when it
        # happens; a timer kills whatever outlives its timeout.
        index = {p.pid: i for i, p in enumerate(procs)}

        def kill_stragglers():
            with lock:
                for i, p in enumerate(procs):
                    if i not in done:
                        p.kill()

        watchdog = threading.Timer(limit, kill_stragglers)
        watchdog.start()
        cpu = 0.0
        try:
            while len(done) < n:
                pid, status, usage = os.wait4(-1, 0)
                if pid == sts.proc.pid:
                    raise FleetError("the STS stand-in died during the run")
                if pid in index:
                    i = index[pid]
                    cpu += usage.ru_utime + usage.ru_stime
                    with lock:
                        procs[i].returncode = os.waitstatus_to_exitcode(status)
                        done[i] = (procs[i].returncode, time.monotonic() - t0)
        finally:
            watchdog.cancel()
        for f in logs:
            f.close()
        requests, issued = sts.counts()
        standin_cpu = sts.cpu()
        codes = {}
        for code, _ in done.values():
            codes[code] = codes.get(code, 0) + 1
        times = sorted(t for _, t in done.values())
        failed = [i for i, (code, _) in done.items() if code != 0]
        sample = ""
        if failed:
            with open(os.path.join(tmp, f"stderr-{failed[0]}.txt")) as f:
                lines = f.read().splitlines()
                sample = lines[-1] if lines else ""
        return {"runs": n, "ok": codes.get(0, 0), "codes": codes, "issued": issued, "requests": requests,
                "launch_s": launched, "cpu_s": cpu, "standin_cpu_s": standin_cpu, "load_after": os.getloadavg()[0], "p50_s": percentile(times, 50), "p99_s": percentile(times, 99),
                "slowest_s": times[-1], "failure_sample": sample}
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                p.wait()
        sts.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def scenarios(rate, sizes):
    """(name, stand-in arguments, runs, timeout, ideal seconds or None)."""
    out = [(f"storm: {n} runs, {rate:g}/s", ["--throttle", f"{rate:g}/{rate:g}"], n, None, n / rate) for n in sizes]
    out.append(("outage: 50 runs, 503 for 20 s", ["--outage", "20"], 50, None, 20.0))
    out.append(("refusal: 100 runs, AccessDenied", ["--refuse"], 100, None, None))
    out.append(("endless throttling: 100 runs, timeout 5", ["--throttle", "0/0"], 100, 5, None))
    return out


def codes_text(codes):
    return ", ".join(f"{n}× exit {c}" for c, n in sorted(codes.items()))


def row(name, ideal, r):
    """One Markdown table row."""
    per = f"{r['requests'] / r['ok']:.2f}" if r["ok"] else f"— ({r['requests'] / r['runs']:.2f} per run)"
    ideal_text = f"{ideal:.0f} s" if ideal else "—"
    return (f"| {name} | {ideal_text} | {r['ok']}/{r['runs']} | {codes_text(r['codes'])} | {r['p50_s']:.1f} s | "
            f"{r['p99_s']:.1f} s | {r['slowest_s']:.1f} s | {r['requests']} | {per} | "
            f"{r['launch_s']:.1f} s | {r['cpu_s']:.1f} s + {r['standin_cpu_s']:.1f} s |")


def table(results):
    head = ("| scenario | ideal (N ÷ rate) | succeeded | exit codes | p50 | p99 | slowest | requests "
            "| requests per success | starting all took | CPU: runs + stand-in |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    return "\n".join([head] + [row(name, ideal, r) for name, ideal, r in results])


def write_measured(text):
    measured_block.replace(BEGIN, END, f"{BEGIN}\n{text}\n{END}\n", FleetError)


def main():
    binary = os.environ.get("FLEET_BIN", os.path.join(ROOT, "dist", "aws-oidc-linux-amd64"))
    if not os.access(binary, os.X_OK):
        raise FleetError(f"{binary} is missing: run `make release` (or set FLEET_BIN)")
    rate = float(os.environ.get("FLEET_RATE", "20"))
    sizes = [int(n) for n in os.environ.get("FLEET_SIZES", "100 300 500").split()]
    default = rate == 20 and sizes == [100, 300, 500]
    print(f"binary: {binary}\nmachine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)
    results = []
    for name, args, n, timeout, ideal in scenarios(rate, sizes):
        print(f"running {name} ...", flush=True)
        r = fleet(binary, args, n, timeout)
        results.append((name, ideal, r))
        # Whether the machine kept up: how long the starts took, the CPU the
        # runs used (on os.cpu_count() CPUs) and the load they ran under.
        print(f"  launching took {r['launch_s']:.1f} s; the runs used {r['cpu_s']:.1f} s of CPU, the stand-in "
              f"{r['standin_cpu_s']:.1f} s; "
              f"load average {r['load_after']:.2f} after", flush=True)
        print(f"  {r['ok']}/{n} succeeded ({codes_text(r['codes'])}); "
              f"p50 {r['p50_s']:.1f} s, p99 {r['p99_s']:.1f} s, slowest {r['slowest_s']:.1f} s"
              + (f" (ideal {ideal:.1f} s, {r['slowest_s'] / ideal:.2f}×)" if ideal else "")
              + f"; {r['requests']} requests" + (f", {r['requests'] / r['ok']:.2f} per success" if r["ok"] else ""),
              flush=True)
        if r["failure_sample"]:
            print(f"  a failed run's last line: {r['failure_sample']}", flush=True)
    text = table(results)
    print("\n" + text)
    out = {"binary": binary, "cpus": os.cpu_count(), "rate": rate,
           "results": [dict(r, scenario=name, ideal_s=ideal) for name, ideal, r in results]}
    os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
    with open(os.path.join(ROOT, "target", "fleet.json"), "w") as f:
        json.dump(out, f, indent=1)
    if default:
        write_measured(text)
        print("\ndocs/measured.md table updated; raw figures: target/fleet.json")
    else:
        print("\nnot the default scenarios: docs/measured.md left alone; raw figures: target/fleet.json")


if __name__ == "__main__":
    try:
        main()
    except (FleetError, OSError) as e:
        sys.exit(f"fleet: could not run: {e}")
