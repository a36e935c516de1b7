//! Compiles every `.proto` under the workspace's `proto/` directory without a system
//! `protoc`: protox parses them in Rust, tonic-prost-build generates the code from the
//! resulting descriptors, and the descriptor set is kept for gRPC reflection.

use std::path::{Path, PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it compiles (`env!`): checkouts that share a
    // target directory share this script's binary too, and a path baked into it would
    // compile another checkout's protos.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let root = root.canonicalize()?;

    let mut files = Vec::new();
    collect_protos(&root, &mut files)?;
    files.sort();
    // Relative to this crate, not absolute: two checkouts that share a target directory
    // (a CI clone beside a work tree) share this build script's fingerprint too, and an
    // absolute path would make one of them watch the other's protos.
    println!("cargo:rerun-if-changed=../../proto");
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        println!("cargo:rerun-if-changed=../../proto/{}", relative.display());
    }

    let fds = protox::Compiler::new([&root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(&files)?
        .file_descriptor_set();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("cinema_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
