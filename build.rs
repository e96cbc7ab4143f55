//! Compiles proto/ with protox (no protoc needed) and keeps the file
//! descriptor set for gRPC reflection.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/workflow/v1/workflow.proto"];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("workflow_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    // prost::Name on every message: wfctl finds a message's descriptor by
    // its full name to print it in the proto3 JSON mapping.
    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(descriptors, config)?;
    Ok(())
}
