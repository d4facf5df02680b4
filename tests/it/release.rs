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
/// has no `--compression-format`). The archive is one OCI layout whose
/// index names the image, an image index of the amd64 and arm64 images,
/// every layer gzip at level 9 (the gzip header's XFL byte is 2 only at
/// the best compression; skopeo's default level writes 0); its checksum
/// is in SHA256SUMS; and skopeo, README's first way in, copies both
/// platforms out of it.
#[test]
#[ignore = "needs make release, buildah and skopeo; run by make test-release"]
fn image_archive_holds_both_platforms_with_gzip_9_layers() {
    use aws_oidc::json::Json;
    let text = |s: &str| Json::String(s.to_string());
    let out = output({
        let mut c = Command::new("make");
        c.args(["-s", "--no-print-directory", "image-archive"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    });
    assert_eq!(out.code, 0, "make image-archive failed:\n{}", out.stderr);
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
    let Json::Array(images) = json_at(&list, "manifests") else {
        panic!("{list:?}")
    };
    let mut arches = Vec::new();
    for image in images {
        let platform = json_at(image, "platform");
        assert_eq!(json_at(platform, "os"), &text("linux"));
        arches.push(json_at(platform, "architecture").clone());
        let manifest = oci_json(&oci_blob(&layout, json_at(image, "digest")));
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

/// Every `make NAME` README tells a reader to run (in inline code, or a
/// line of a code block) is a target `make help` lists.
#[test]
fn every_make_command_in_the_readme_is_a_target() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut named: Vec<&str> = readme
        .split("`make ")
        .skip(1)
        .chain(readme.lines().filter_map(|l| l.strip_prefix("make ")))
        .filter_map(|rest| rest.split([' ', '`', '\n']).next())
        .collect();
    named.sort_unstable();
    named.dedup();
    assert!(named.contains(&"image-archive"), "{named:?}");
    let targets = make_help();
    for name in named {
        assert!(
            targets.iter().any(|t| t == name),
            "README names `make {name}`, which make help does not list: {targets:?}"
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

/// README's Measured tables are written by `make bench` (scripts/bench.py)
/// between two markers. After a run, they must be exactly what the script
/// renders from `target/bench.json`, so no figure is typed by hand.
#[test]
fn readme_measured_tables_are_the_last_bench_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
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
        .arg("--readme")
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
        "README's Measured tables are not those of target/bench.json: run make bench"
    );
}
