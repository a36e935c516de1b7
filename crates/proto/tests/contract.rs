//! The contract as clients outside Rust see it. protox (our compiler) is more lenient
//! than protoc and buf: it once accepted an rpc that hid its own request message, which
//! no Python, Go or Java client could compile. These tests run the real tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use cinema_testkit::tools;

fn proto_dir() -> PathBuf {
    tools::workspace_root().join("proto")
}

fn protos(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(protos(&path));
        } else if path.extension().is_some_and(|e| e == "proto") {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{command:?} failed:\n{text}");
    text
}

#[test]
fn buf_lint_with_the_standard_rules_finds_nothing() {
    let findings = run(Command::new(tools::buf())
        .arg("lint")
        .current_dir(proto_dir()));
    assert_eq!(findings.trim(), "", "buf lint findings");
}

#[test]
fn protoc_compiles_every_proto_for_python() {
    let out = std::env::temp_dir().join(format!("cinema-protoc-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&out).expect("temp dir");
    let files = protos(&proto_dir());
    assert!(files.len() >= 2, "{files:?}");
    run(Command::new(tools::python())
        .args(["-m", "grpc_tools.protoc", "-I"])
        .arg(proto_dir())
        .arg(format!("--python_out={}", out.display()))
        .arg(format!("--grpc_python_out={}", out.display()))
        .args(&files));
    for generated in [
        "cinema/orders/v1/orders_pb2.py",
        "cinema/orders/v1/orders_pb2_grpc.py",
        "cinema/movies/v1/movies_pb2.py",
        "cinema/movies/v1/movies_pb2_grpc.py",
    ] {
        assert!(out.join(generated).exists(), "{generated} was generated");
    }
    let _ = std::fs::remove_dir_all(out);
}
