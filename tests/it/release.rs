//! The release artifacts where they will run. These tests are `#[ignore]`d
//! in a plain `cargo test` because they need `make release` and `make
//! image` first; `make test-release` (part of `make test`) builds those and
//! runs them with `--ignored`, as root (chroot), with qemu-user-static and
//! buildah installed by `.ci/run`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

fn dist() -> PathBuf {
    PathBuf::from(
        std::env::var("AWS_OIDC_DIST")
            .expect("AWS_OIDC_DIST: run these through `make test-release`"),
    )
}

fn image() -> String {
    std::env::var("AWS_OIDC_IMAGE").expect("AWS_OIDC_IMAGE: run these through `make test-release`")
}

/// The step's environment with the CA and the secret file at these paths,
/// as the binary sees them (in a chroot, an image, or here).
fn harness_env(sts: &StandIn, ca: &str, secret: &str, token: &str) -> StepEnv {
    StepEnv::new(ROLE, token, &sts.url(), ca, secret).set("PLUGIN_REGION", "us-east-1")
}

fn output(mut cmd: Command) -> Output {
    Output::from(
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}")),
    )
}

/// The secret file holds exactly the credentials the stand-in issued.
fn assert_exchange(sts: &StandIn, secret: &Path, token: &str) {
    let issued = sts.issued().pop().expect("the stand-in issued credentials");
    assert_lines(
        &std::fs::read_to_string(secret).expect("secret file written"),
        &[
            ("AWS_ACCESS_KEY_ID", &issued.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &issued.secret_access_key),
            ("AWS_SESSION_TOKEN", &issued.session_token),
        ],
    );
    let req = sts.requests().pop().expect("a request");
    assert_eq!(req.field("WebIdentityToken"), Some(token));
}

#[test]
#[ignore = "needs make release; run by make test-release"]
fn checksums_match() {
    let out = output({
        let mut c = Command::new("sha256sum");
        c.arg("-c").arg("SHA256SUMS").current_dir(dist());
        c
    });
    out.expect(0);
    assert!(
        out.stdout.contains("aws-oidc-linux-amd64: OK")
            && out.stdout.contains("aws-oidc-linux-arm64: OK"),
        "{}",
        out.stdout
    );
}

#[test]
#[ignore = "needs make release and root; run by make test-release"]
fn amd64_binary_runs_alone_in_an_empty_root() {
    let sts = StandIn::start();
    let root = temp_dir("chroot");
    std::fs::copy(dist().join("aws-oidc-linux-amd64"), root.join("aws-oidc")).unwrap();
    std::fs::copy(sts.ca(), root.join("ca.pem")).unwrap();
    let token = harness_token();
    let mut cmd = Command::new("/usr/sbin/chroot");
    cmd.arg(root.path()).arg("/aws-oidc").env_clear();
    cmd.envs(harness_env(&sts, "/ca.pem", "/secret.env", &token).iter());
    let out = output(cmd);
    out.expect(0).assert_hides(&[&token]);
    let entries: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries.len(),
        3,
        "the root held only the binary, the CA and the output: {entries:?}"
    );
    assert_exchange(&sts, &root.join("secret.env"), &token);
}

#[test]
#[ignore = "needs make release and qemu-user-static; run by make test-release"]
fn arm64_binary_runs_under_qemu() {
    let sts = StandIn::start();
    let dir = temp_dir("qemu");
    let secret = dir.join("secret.env");
    let token = harness_token();
    let run = |secret: &Path| {
        let mut cmd = Command::new("qemu-aarch64-static");
        cmd.arg(dist().join("aws-oidc-linux-arm64")).env_clear();
        let ca = sts.ca().display().to_string();
        cmd.envs(harness_env(&sts, &ca, &secret.display().to_string(), &token).iter());
        output(cmd)
    };
    run(&secret).expect(0).assert_hides(&[&token]);
    assert_exchange(&sts, &secret, &token);
    // And a refusal comes back as exit 3, as on amd64.
    sts.script([Reply::Error(
        403,
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
    )]);
    run(&dir.join("other.env")).expect(3);
}

fn buildah(args: &[&str]) -> Output {
    let mut c = Command::new("buildah");
    c.arg("--storage-driver").arg("vfs").args(args);
    output(c)
}

#[test]
#[ignore = "needs make image and buildah; run by make test-release"]
fn image_runs_the_exchange_and_holds_only_the_binary() {
    let image = format!("localhost/{}-amd64", image());
    let inspect = buildah(&["inspect", "--type", "image", &image]);
    inspect.expect(0);
    for label in [
        "org.opencontainers.image.source",
        "org.opencontainers.image.version",
        "org.opencontainers.image.description",
        "org.opencontainers.image.licenses",
    ] {
        assert!(inspect.stdout.contains(label), "OCI label {label}");
    }
    // What Harness runs is the ENTRYPOINT; the run below uses exactly it
    // (buildah run does not apply an entrypoint by itself).
    let entrypoint = buildah(&[
        "inspect",
        "--type",
        "image",
        "--format",
        "{{.OCIv1.Config.Entrypoint}}",
        &image,
    ]);
    assert_eq!(entrypoint.expect(0).stdout.trim(), "[/aws-oidc]");
    let entrypoint = "/aws-oidc";

    let ctr = buildah(&["from", "--pull-never", &image]);
    ctr.expect(0);
    let ctr = ctr.stdout.trim().to_string();

    // One layer, and the whole filesystem is the one binary.
    let diff_ids = buildah(&[
        "inspect",
        "--format",
        "{{len .OCIv1.RootFS.DiffIDs}}",
        "--type",
        "image",
        &image,
    ]);
    assert_eq!(diff_ids.expect(0).stdout.trim(), "1", "one layer");
    let mount = buildah(&["mount", &ctr]);
    let mountpoint = PathBuf::from(mount.expect(0).stdout.trim());
    let mut files = Vec::new();
    let mut todo = vec![mountpoint.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                files.push(
                    e.path()
                        .strip_prefix(&mountpoint)
                        .unwrap()
                        .display()
                        .to_string(),
                );
            }
        }
    }
    buildah(&["umount", &ctr]).expect(0);
    assert_eq!(
        files,
        vec!["aws-oidc".to_string()],
        "only the binary: no shell, no CA files"
    );

    // A run as Harness would start it, with the runner's output folder mounted.
    let sts = StandIn::start();
    let host_dir = temp_dir("image");
    std::fs::copy(sts.ca(), host_dir.join("ca.pem")).unwrap();
    // The runner creates the output file; the image (root) appends to it.
    std::fs::write(host_dir.join("secret.env"), "").unwrap();
    let token = harness_token();
    let volume = format!("{}:/harness", host_dir.display());
    let mut args: Vec<String> = vec![
        "run".into(),
        "--isolation".into(),
        "chroot".into(),
        "--network".into(),
        "host".into(),
        "-v".into(),
        volume,
    ];
    for (k, v) in harness_env(&sts, "/harness/ca.pem", "/harness/secret.env", &token).iter() {
        args.push("-e".into());
        args.push(format!("{k}={v}"));
    }
    args.extend([ctr.clone(), "--".into(), entrypoint.into()]);
    let out = buildah(&args.iter().map(String::as_str).collect::<Vec<_>>());
    out.expect(0);
    assert_exchange(&sts, &host_dir.join("secret.env"), &token);
    let shell = buildah(&[
        "run",
        "--isolation",
        "chroot",
        &ctr,
        "--",
        "/bin/sh",
        "-c",
        "true",
    ]);
    // Refused because /bin/sh is missing, not for any other buildah failure.
    assert!(
        shell.code != 0
            && shell.stderr.contains("/bin/sh")
            && shell
                .stderr
                .to_ascii_lowercase()
                .contains("no such file or directory"),
        "there is no shell in the image: exit {}\n{}",
        shell.code,
        shell.stderr
    );
    buildah(&["rm", &ctr]).expect(0);
}

#[test]
#[ignore = "needs make image; run by make test-release"]
fn arm64_image_is_built_for_arm64_with_one_layer() {
    let image = format!("localhost/{}-arm64", image());
    let arch = buildah(&[
        "inspect",
        "--format",
        "{{.OCIv1.Architecture}} {{len .OCIv1.RootFS.DiffIDs}}",
        "--type",
        "image",
        &image,
    ]);
    assert_eq!(arch.expect(0).stdout.trim(), "arm64 1");
}

/// ELF64 little-endian: the type (`e_type`) and every program header type.
fn elf_type_and_segments(bytes: &[u8]) -> (u16, Vec<u32>) {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    assert_eq!(
        &bytes[..6],
        b"\x7fELF\x02\x01",
        "an ELF64 little-endian file"
    );
    let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36) as usize, u16_at(0x38));
    let segments = (0..phnum as usize)
        .map(|i| u32_at(phoff + i * phentsize))
        .collect();
    (u16_at(0x10), segments)
}

#[test]
#[ignore = "needs make release; run by make test-release"]
fn linux_binaries_are_static_pie() {
    const ET_DYN: u16 = 3;
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    for name in ["aws-oidc-linux-amd64", "aws-oidc-linux-arm64"] {
        let bytes = std::fs::read(dist().join(name)).unwrap();
        let (kind, segments) = elf_type_and_segments(&bytes);
        // DYN with no interpreter is a static-pie: ASLR without a loader.
        // EXEC would be a fixed address; an interpreter, a dynamic binary.
        assert_eq!(kind, ET_DYN, "{name} is not position-independent");
        assert!(
            !segments.contains(&PT_INTERP),
            "{name} asks for a dynamic loader"
        );
        assert!(
            segments.contains(&PT_DYNAMIC),
            "{name} has no relocations to apply"
        );
    }
}

/// Where a JSON blob of an OCI layout is, by its digest.
fn oci_blob(layout: &Path, digest: &aws_oidc::json::Json) -> PathBuf {
    let aws_oidc::json::Json::String(digest) = digest else {
        panic!("a digest that is not a string: {digest:?}")
    };
    layout.join("blobs").join(digest.replacen(':', "/", 1))
}

/// A JSON file of an OCI layout.
fn oci_json(path: &Path) -> aws_oidc::json::Json {
    let text = std::fs::read_to_string(path).unwrap();
    aws_oidc::json::parse(&text).unwrap_or_else(|| panic!("{} is not JSON", path.display()))
}

/// `make image-archive`, README's way to an air-gapped mirror, with the
/// buildah and skopeo scripts/deps.sh installs (Debian 12's buildah 1.28
/// has no `--compression-format`); `make test-release` runs it before the
/// tests. The archive is one OCI layout whose index names the image, an
/// image index of the amd64 and arm64 images, every layer gzip at level 9
/// (the gzip header's XFL byte is 2 only at the best compression; skopeo's
/// default level writes 0); the index and each image carry the OCI
/// annotations saying what they are; its checksum is in SHA256SUMS; and
/// skopeo, README's first way in, copies both platforms out of it.
#[test]
#[ignore = "needs make image-archive, buildah and skopeo; run by make test-release"]
fn image_archive_holds_both_platforms_with_gzip_9_layers() {
    use aws_oidc::json::Json;
    let text = |s: &str| Json::String(s.to_string());
    let archive = dist().join("aws-oidc-image.oci.tar");
    let layout = temp_dir("oci-archive");
    output({
        let mut c = Command::new("tar");
        c.arg("-xf").arg(&archive).arg("-C").arg(layout.path());
        c
    })
    .expect(0);
    let index = oci_json(&layout.join("index.json"));
    let top = json_at(&index, "manifests");
    assert!(matches!(top, Json::Array(m) if m.len() == 1), "{index:?}");
    let top = json_at(top, "0");
    assert_eq!(
        json_at(top, "mediaType"),
        &text("application/vnd.oci.image.index.v1+json")
    );
    let name = json_at(
        json_at(top, "annotations"),
        "org.opencontainers.image.ref.name",
    );
    assert_eq!(name, &text(&image()));
    let list = oci_json(&oci_blob(&layout, json_at(top, "digest")));
    assert_annotated(&list, "the image index");
    let Json::Array(images) = json_at(&list, "manifests") else {
        panic!("{list:?}")
    };
    let mut arches = Vec::new();
    for image in images {
        let platform = json_at(image, "platform");
        assert_eq!(json_at(platform, "os"), &text("linux"));
        arches.push(json_at(platform, "architecture").clone());
        let manifest = oci_json(&oci_blob(&layout, json_at(image, "digest")));
        assert_annotated(&manifest, "an image manifest");
        let Json::Array(layers) = json_at(&manifest, "layers") else {
            panic!("{manifest:?}")
        };
        assert_eq!(layers.len(), 1, "one layer: {manifest:?}");
        for layer in layers {
            assert_eq!(
                json_at(layer, "mediaType"),
                &text("application/vnd.oci.image.layer.v1.tar+gzip")
            );
            let bytes = std::fs::read(oci_blob(&layout, json_at(layer, "digest"))).unwrap();
            assert_eq!(&bytes[..3], b"\x1f\x8b\x08", "a gzip layer");
            assert_eq!(bytes[8], 2, "gzip XFL {}: not level 9", bytes[8]);
        }
    }
    assert_eq!(arches, [text("amd64"), text("arm64")]);
    let sums = std::fs::read_to_string(dist().join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  aws-oidc-image.oci.tar\n"), "{sums}");
    checksums_match();
    let copy = layout.join("copy");
    output({
        let mut c = Command::new("skopeo");
        c.args(["copy", "-q", "--all"])
            .arg(format!("oci-archive:{}", archive.display()))
            .arg(format!("oci:{}:mirror", copy.display()));
        c
    })
    .expect(0);
}

/// The repository's root, where the Makefile and scripts/ are.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What a command printed on stdout, trimmed; it must succeed.
fn stdout_of(program: &str, args: &[&str]) -> String {
    let out = output({
        let mut c = Command::new(program);
        c.args(args).current_dir(root());
        c
    });
    out.expect(0);
    out.stdout.trim().to_string()
}

/// The sha256 of a file, in hex.
fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The commit built and its time (the Makefile's SOURCE_DATE_EPOCH), and
/// that time as RFC 3339.
fn commit_and_time() -> (String, String, String) {
    let commit = stdout_of("git", &["rev-parse", "HEAD"]);
    let epoch = stdout_of("git", &["log", "-1", "--format=%ct"]);
    let rfc3339 = stdout_of(
        "date",
        &["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%dT%H:%M:%SZ"],
    );
    (commit, epoch, rfc3339)
}

/// An OCI index or manifest carries the four annotations that say what the
/// image is: where its source is, the commit, the version, and when (the
/// commit's time, SOURCE_DATE_EPOCH, never the clock).
fn assert_annotated(json: &aws_oidc::json::Json, what: &str) {
    let (commit, _, created) = commit_and_time();
    let annotations = json_at(json, "annotations");
    for (key, want) in [
        ("source", "https://github.com/aws-oidc/aws-oidc"),
        ("revision", &commit),
        ("version", env!("CARGO_PKG_VERSION")),
        ("created", &created),
    ] {
        let key = format!("org.opencontainers.image.{key}");
        assert_eq!(
            json_at(annotations, &key),
            &aws_oidc::json::Json::String(want.to_string()),
            "{what}: {key}"
        );
    }
}

const BINARIES: [&str; 3] = [
    "aws-oidc-linux-amd64",
    "aws-oidc-linux-arm64",
    "aws-oidc-windows-amd64.exe",
];
const SBOMS: [&str; 3] = [
    "aws-oidc-linux-amd64.cdx.json",
    "aws-oidc-linux-arm64.cdx.json",
    "aws-oidc-windows-amd64.cdx.json",
];
const PROVENANCE: &str = "aws-oidc.intoto.json";

/// The provenance `make release` writes is an in-toto Statement v1 with a
/// SLSA provenance v1 predicate; its subjects are the binaries and SBOMs
/// by their sha256; it names the commit, the make target, the toolchain,
/// the lock file's sha256 and SOURCE_DATE_EPOCH, and holds no path of
/// this machine (so that it is as reproducible as the binaries).
#[test]
#[ignore = "needs make release; run by make test-release"]
fn provenance_names_the_files_by_sha256_and_the_build() {
    use aws_oidc::json::Json;
    let text = |s: &str| Json::String(s.to_string());
    let raw = std::fs::read_to_string(dist().join(PROVENANCE)).unwrap();
    let statement = aws_oidc::json::parse(&raw).expect("the provenance is JSON");
    assert_eq!(
        json_at(&statement, "_type"),
        &text("https://in-toto.io/Statement/v1")
    );
    assert_eq!(
        json_at(&statement, "predicateType"),
        &text("https://slsa.dev/provenance/v1")
    );
    let Json::Array(subjects) = json_at(&statement, "subject") else {
        panic!("{statement:?}")
    };
    let names: Vec<&str> = BINARIES.iter().chain(&SBOMS).copied().collect();
    assert_eq!(subjects.len(), names.len(), "{subjects:?}");
    for (subject, name) in subjects.iter().zip(&names) {
        assert_eq!(json_at(subject, "name"), &text(name));
        let digest = json_at(json_at(subject, "digest"), "sha256");
        assert_eq!(digest, &text(&sha256_hex(&dist().join(name))), "{name}");
    }
    let (commit, epoch, started) = commit_and_time();
    let build = json_at(json_at(&statement, "predicate"), "buildDefinition");
    let external = json_at(build, "externalParameters");
    let source = json_at(external, "source");
    assert_eq!(
        json_at(json_at(source, "digest"), "gitCommit"),
        &text(&commit)
    );
    assert_eq!(
        json_at(external, "makeTargets"),
        &Json::Array(vec![text("release")])
    );
    assert_eq!(json_at(external, "SOURCE_DATE_EPOCH"), &text(&epoch));
    let toolchain = json_at(json_at(build, "internalParameters"), "toolchain");
    assert_eq!(
        json_at(toolchain, "rustc"),
        &text(&stdout_of("rustc", &["-V"]))
    );
    assert_eq!(
        json_at(toolchain, "cargo"),
        &text(&stdout_of("cargo", &["-V"]))
    );
    let lock = json_at(json_at(build, "resolvedDependencies"), "1");
    assert_eq!(json_at(lock, "name"), &text("Cargo.lock"));
    assert_eq!(
        json_at(json_at(lock, "digest"), "sha256"),
        &text(&sha256_hex(&root().join("Cargo.lock")))
    );
    let run = json_at(json_at(&statement, "predicate"), "runDetails");
    assert!(matches!(
        json_at(json_at(run, "builder"), "id"),
        Json::String(_)
    ));
    let metadata = json_at(run, "metadata");
    assert!(matches!(json_at(metadata, "invocationId"), Json::String(_)));
    assert_eq!(json_at(metadata, "startedOn"), &text(&started));
    assert_eq!(json_at(metadata, "finishedOn"), &text(&started));
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    for path in [env!("CARGO_MANIFEST_DIR"), &home] {
        assert!(
            !raw.contains(path),
            "the provenance holds the path {path:?}"
        );
    }
    // The host name as a whole word (a short one is part of other words).
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    assert!(
        host.is_empty()
            || !raw
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                .any(|w| w == host),
        "the provenance holds the host name {host:?}"
    );
}

/// A copy of the release files of dist/ (those SHA256SUMS names, and it).
fn release_copy() -> TempDir {
    let copy = temp_dir("release-copy");
    let sums = std::fs::read_to_string(dist().join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  aws-oidc-image.oci.tar\n"), "{sums}");
    for name in sums
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, n)| n))
        .chain(["SHA256SUMS"])
    {
        std::fs::copy(dist().join(name), copy.join(name)).unwrap();
    }
    copy
}

/// A throwaway minisign key pair, made for this test and gone after it:
/// the folder, the public key and the secret key (unencrypted).
fn throwaway_key() -> (TempDir, PathBuf, PathBuf) {
    let dir = temp_dir("minisign-key");
    let (public, secret) = (dir.join("test.pub"), dir.join("test.key"));
    output({
        let mut c = Command::new("minisign");
        c.arg("-G")
            .arg("-W")
            .arg("-p")
            .arg(&public)
            .arg("-s")
            .arg(&secret);
        c
    })
    .expect(0);
    (dir, public, secret)
}

/// `make sign` on a release folder with a secret key.
fn make_sign(folder: &Path, secret: &Path) -> Output {
    output({
        let mut c = Command::new("make");
        c.args(["-s", "--no-print-directory", "sign"])
            .arg(format!("DIST={}", folder.display()))
            .arg(format!("MINISIGN_KEY={}", secret.display()))
            .current_dir(root());
        c
    })
}

/// scripts/verify-release.sh where there is no network at all: a new
/// network namespace (`unshare --net`, as root) without even loopback up.
fn verify_offline(folder: &Path, public: &Path) -> Output {
    output({
        let mut c = Command::new("unshare");
        c.args(["--net", "--", "sh"])
            .arg(root().join("scripts/verify-release.sh"))
            .arg(folder)
            .arg(public);
        c
    })
}

/// The verifier refused, naming `file` first.
fn assert_refused(out: &Output, file: &str) {
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .starts_with(&format!("verify-release: FAIL: {file}: ")),
        "names {file}: {}",
        out.stderr
    );
}

/// A release signed with a key made here (by `make sign`) verifies with no
/// network; one changed byte in any file it lists, in SHA256SUMS or in the
/// signature makes the verifier fail, naming that file.
#[test]
#[ignore = "needs make release image-archive, minisign and root (unshare); run by make test-release"]
fn signed_release_verifies_offline_and_fails_on_any_changed_byte() {
    assert!(
        Command::new("unshare")
            .args(["--net", "true"])
            .status()
            .unwrap()
            .success(),
        "unshare --net needs root; make test-release runs as root"
    );
    let copy = release_copy();
    let (_keys, public, secret) = throwaway_key();
    make_sign(&copy, &secret).expect(0);
    let good = verify_offline(&copy, &public);
    good.expect(0);
    assert!(
        good.stdout.contains("verify-release: OK: "),
        "{}",
        good.stdout
    );
    let sums = std::fs::read_to_string(copy.join("SHA256SUMS")).unwrap();
    let mut files: Vec<&str> = sums
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, n)| n))
        .collect();
    assert_eq!(
        files.len(),
        8,
        "3 binaries, 3 SBOMs, provenance, image: {sums}"
    );
    files.extend(["SHA256SUMS", "SHA256SUMS.minisig"]);
    for name in files {
        let path = copy.join(name);
        let bytes = std::fs::read(&path).unwrap();
        let mut changed = bytes.clone();
        // A byte of the payload: for the signature, of its base64 line.
        let at = if name.ends_with(".minisig") {
            bytes.iter().position(|&b| b == b'\n').unwrap() + 5
        } else {
            bytes.len() / 2
        };
        changed[at] ^= 0x01;
        std::fs::write(&path, &changed).unwrap();
        let named = if name == "SHA256SUMS.minisig" {
            "SHA256SUMS"
        } else {
            name
        };
        assert_refused(&verify_offline(&copy, &public), named);
        std::fs::write(&path, &bytes).unwrap();
    }
    verify_offline(&copy, &public).expect(0);
    // Another key's signature, and none, fail too.
    let (_other, other_public, _) = throwaway_key();
    assert_refused(&verify_offline(&copy, &other_public), "SHA256SUMS");
    std::fs::remove_file(copy.join("SHA256SUMS.minisig")).unwrap();
    assert_refused(&verify_offline(&copy, &public), "SHA256SUMS.minisig");
}

/// Rewrites SHA256SUMS after the files changed, as a signer who was handed
/// a bad release would, and signs it.
fn resum_and_sign(folder: &Path, secret: &Path) {
    let sums = std::fs::read_to_string(folder.join("SHA256SUMS")).unwrap();
    let fresh: String = sums
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, n)| n))
        .map(|n| format!("{}  {n}\n", sha256_hex(&folder.join(n))))
        .collect();
    std::fs::write(folder.join("SHA256SUMS"), fresh).unwrap();
    make_sign(folder, secret).expect(0);
}

/// What the sums alone cannot show: a signed release whose provenance
/// gives a binary another digest is refused naming the provenance; one
/// whose amd64 and arm64 binaries (and their provenance) were swapped is
/// refused naming the image archive, whose layers hold the binaries that
/// were built. And `make sign` refuses sums that lack the image archive.
#[test]
#[ignore = "needs make release image-archive, minisign and root (unshare); run by make test-release"]
fn verifier_ties_the_provenance_and_the_image_layers_to_the_sums() {
    let (_keys, public, secret) = throwaway_key();
    let amd64 = sha256_hex(&dist().join("aws-oidc-linux-amd64"));
    let arm64 = sha256_hex(&dist().join("aws-oidc-linux-arm64"));

    let copy = release_copy();
    let provenance = copy.join(PROVENANCE);
    let text = std::fs::read_to_string(&provenance).unwrap();
    std::fs::write(&provenance, text.replacen(&amd64, &arm64, 1)).unwrap();
    resum_and_sign(&copy, &secret);
    let out = verify_offline(&copy, &public);
    assert_refused(&out, PROVENANCE);
    out.says("aws-oidc-linux-amd64");

    let copy = release_copy();
    std::fs::copy(
        dist().join("aws-oidc-linux-arm64"),
        copy.join("aws-oidc-linux-amd64"),
    )
    .unwrap();
    std::fs::copy(
        dist().join("aws-oidc-linux-amd64"),
        copy.join("aws-oidc-linux-arm64"),
    )
    .unwrap();
    let swapped = text
        .replacen(&amd64, "AMD64", 1)
        .replacen(&arm64, &amd64, 1)
        .replacen("AMD64", &arm64, 1);
    std::fs::write(copy.join(PROVENANCE), swapped).unwrap();
    resum_and_sign(&copy, &secret);
    let out = verify_offline(&copy, &public);
    assert_refused(&out, "aws-oidc-image.oci.tar");
    out.says("linux/amd64 layer's /aws-oidc");

    let copy = release_copy();
    let sums = std::fs::read_to_string(copy.join("SHA256SUMS")).unwrap();
    let without: String = sums
        .lines()
        .filter(|l| !l.ends_with("  aws-oidc-image.oci.tar"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(copy.join("SHA256SUMS"), without).unwrap();
    let out = make_sign(&copy, &secret);
    assert_ne!(out.code, 0);
    out.says("does not name aws-oidc-image.oci.tar");
    assert!(!copy.join("SHA256SUMS.minisig").exists(), "nothing signed");
}

/// The make targets `make help` lists, in its order.
fn make_help() -> Vec<String> {
    let help = Command::new("make")
        .args(["-s", "--no-print-directory", "help"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    String::from_utf8(help.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(String::from))
        .collect()
}

/// Every `make NAME` README, CONTRIBUTING or a page of docs/ tells a
/// reader to run (in inline code, or a line of a code block) is a target
/// `make help` lists.
#[test]
fn every_make_command_in_the_readme_is_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    let docs: String = pages
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| std::fs::read_to_string(p).unwrap() + "\n")
        .collect();
    let mut named: Vec<&str> = docs
        .split("`make ")
        .skip(1)
        .chain(docs.lines().filter_map(|l| l.strip_prefix("make ")))
        .filter_map(|rest| rest.split([' ', '`', '\n']).next())
        .collect();
    named.sort_unstable();
    named.dedup();
    assert!(named.contains(&"image-archive"), "{named:?}");
    let targets = make_help();
    for name in named {
        assert!(
            targets.iter().any(|t| t == name),
            "the docs name `make {name}`, which make help does not list: {targets:?}"
        );
    }
}

#[test]
fn make_help_lists_every_target_once_aligned() {
    let makefile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile")).unwrap();
    // Rule lines: `name: …`, not variable assignments (`:=`) or $(DIST).
    let targets: Vec<&str> = makefile
        .lines()
        .filter(|l| {
            l.starts_with(|c: char| c.is_ascii_lowercase())
                && !l.contains(":=")
                && !l.contains("?=")
        })
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .collect();
    let phony: Vec<&str> = makefile
        .split(".PHONY:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap()
        .split_whitespace()
        .filter(|w| *w != "\\")
        .collect();
    let mut unique = phony.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        phony.len(),
        ".PHONY names a target twice: {phony:?}"
    );
    let help = Command::new("make")
        .args(["-s", "--no-print-directory", "help"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for t in &targets {
        assert!(phony.contains(t), "{t} is not in .PHONY");
        let line = help
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(t))
            .unwrap_or_else(|| {
                panic!("make help does not list {t} (give it a `## ` description):\n{help}")
            });
        // `make NAME` padded to one column, then the description.
        let text_at = line.len() - line[5 + t.len()..].trim_start().len();
        assert!(
            text_at == 21 && line.len() > 21,
            "not aligned at column 21: {line:?}"
        );
    }
    assert_eq!(help.lines().count(), targets.len(), "{help}");
}

/// docs/measured.md's tables are written by `make bench` (scripts/bench.py)
/// between two markers. After a run, they must be exactly what the script
/// renders from `target/bench.json`, so no figure is typed by hand.
#[test]
fn readme_measured_tables_are_the_last_bench_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("docs/measured.md")).unwrap();
    let begin = "<!-- bench:begin";
    let end = "<!-- bench:end -->\n";
    assert_eq!(
        readme.matches(begin).count(),
        1,
        "one block for make bench to rewrite"
    );
    let block = &readme[readme.find(begin).unwrap()..readme.find(end).unwrap() + end.len()];
    let json = root.join("target/bench.json");
    if !json.exists() {
        eprintln!("skipped the figures: no target/bench.json (make bench writes it)");
        return;
    }
    let rendered = python3("json", "python3")
        .arg(root.join("scripts/bench.py"))
        .arg("--measured")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert_eq!(
        block,
        String::from_utf8_lossy(&rendered.stdout),
        "docs/measured.md's tables are not those of target/bench.json: run make bench"
    );
}
